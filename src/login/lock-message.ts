/**
 * What a password form (the sign-in's, the change of an expired password) says while its tries are
 * refused: until when, in minutes. `busy`: the limit is full only with tries still being checked, which
 * is not a lock (and may be the user's own double click).
 */
export function tooManyAttemptsMessage(until: number, now: number, busy = false): string {
  if (busy) return 'Too many sign-in attempts at the same moment. Wait a few seconds and try again.';
  const minutes = Math.max(1, Math.ceil((until - now) / 60_000));
  return `Too many failed attempts. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`;
}
