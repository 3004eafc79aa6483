const MINUTE_MS = 60_000;

/**
 * The first whole minute at or after `ms`. An end time shown to the minute is rounded up: with the
 * seconds cut off it would name a minute in which the thing (a lock) still holds.
 */
export function roundUpToMinute(ms: number): number {
  return Math.ceil(ms / MINUTE_MS) * MINUTE_MS;
}

/** A stored time as an administrator reads it, to the minute: "2026-11-23 18:38", in UTC (the zone of every stored time). */
export function utcMinute(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

/** The same with its zone, where nothing around it names it: "2026-11-23 18:38 UTC". */
export function utcMinuteWithZone(ms: number): string {
  return `${utcMinute(ms)} UTC`;
}

/** When something ends, to the minute (see roundUpToMinute), with its zone: "2026-11-23 18:39 UTC". */
export function utcEndMinute(ms: number): string {
  return utcMinuteWithZone(roundUpToMinute(ms));
}

/** When something ends, as utcEndMinute, where the day goes without saying: "18:39 UTC". */
export function utcEndTimeOfDay(ms: number): string {
  return utcEndMinute(ms).slice('2026-11-23 '.length);
}
