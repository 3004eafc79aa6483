import type { LoginRequest } from '../../src/core/types.ts';

/** A sign-in request as a protocol would make it, for tests that drive the interaction directly (finisher 'test'). */
export function request(overrides: Partial<LoginRequest> = {}): LoginRequest {
  return { protocol: 'oidc', rpId: 'test-app', rpName: 'Test App', rp: { allowPasswordChange: true }, handoff: { finisher: 'test', ref: '' }, forceAuthn: false, passive: false, ...overrides };
}
