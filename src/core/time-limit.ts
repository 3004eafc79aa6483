/** What `withinLimit` answers when the work has not finished in time. */
export const OVER_LIMIT = Symbol('over-limit');

/**
 * The work's own answer, or OVER_LIMIT once `ms` have passed. The work goes on after that; its later
 * rejection is caught here so it is never unhandled (the caller logs what the limit means to it).
 */
export function withinLimit<T>(work: Promise<T>, ms: number): Promise<T | typeof OVER_LIMIT> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<typeof OVER_LIMIT>((resolve) => (timer = setTimeout(() => resolve(OVER_LIMIT), ms)));
  work.catch(() => undefined);
  return Promise.race([work, limit]).finally(() => clearTimeout(timer));
}
