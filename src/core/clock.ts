/** Injected so policy, TOTP and expiry logic can be tested with a fake time. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
