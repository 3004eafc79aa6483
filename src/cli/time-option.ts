const AGE = /^(\d+)([mhd])$/;
const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };
const ISO = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

function validDate(ms: number): Date | undefined {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** Date would roll 2026-02-30 over to March 2 rather than refuse it. */
export function dayExists(day: string): boolean {
  return validDate(Date.parse(`${day}T00:00:00Z`))?.toISOString().slice(0, 10) === day;
}

/**
 * A point in time, as an ISO date or date-time (`2026-11-01`, `2026-11-01T10:00:00Z`) or as an age
 * before `now` (`30m`, `24h`, `7d`); undefined when the text is neither. A date-time without an
 * offset is UTC, the zone of every stored time, so it means the same on any admin's machine.
 */
export function parseTimeOption(text: string, now: number): Date | undefined {
  const age = AGE.exec(text);
  if (age) return validDate(now - Number(age[1]) * UNIT_MS[age[2]!]!);
  const iso = ISO.exec(text);
  if (!iso || !dayExists(text.slice(0, 10))) return undefined;
  return validDate(Date.parse(text.includes('T') && !iso[1] ? `${text}Z` : text));
}
