import { readdir } from 'node:fs/promises';
import type { CliCommand, ParsedArgs } from '../command.ts';
import { listOption, stringOption, UsageError } from '../command.ts';
import { parseTimeOption } from '../time-option.ts';
import { terminalSafe } from '../../core/terminal-text.ts';
import { parseIpOrCidr } from '../../core/ip-ranges.ts';
import { UNKNOWN_CLIENT_IP } from '../../core/unknown-client-ip.ts';
import type { AuditEvent, AuditQuery, StoredAuditEvent } from '../../store/store.ts';

const OPTIONS = { type: 'list', user: 'string', rp: 'string', outcome: 'string', ip: 'string', since: 'string', until: 'string', limit: 'string', json: 'flag' } as const;
const OUTCOMES: ReadonlyArray<AuditEvent['outcome']> = ['success', 'failure', 'info'];
const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 100_000;
/** Shown first after the user, in this order; any other field follows, sorted by name. */
const LEADING_FIELDS = ['rp', 'ip', 'reason'];

const HELP = `Usage: npm run cli -- audit [--type T]... [--user U] [--rp R] [--outcome success|failure|info]
                          [--ip IP|CIDR] [--since T] [--until T] [--limit N] [--json]

Prints the last matching events of the audit log, oldest first: time, type, outcome, user, then the
other fields as key=value (values with spaces or special characters are quoted).

  --type T       an event type (login.password) or a prefix ending in * (login.*); repeat for several
  --user U       the username (any case) or the user id
  --rp R         the relying party: SAML SP entity ID or OIDC client_id
  --outcome O    success, failure or info
  --ip A         a client IP (203.0.113.7) or a range (203.0.113.0/24, 2001:db8::/32), or unknown:
                 clients a trusted proxy did not name
  --since T      from this time: 2026-11-01, 2026-11-01T10:00:00Z (UTC without an offset),
                 or an age before now: 30m, 24h, 7d
  --until T      before this time, same forms
  --limit N      at most N events, the most recent ones (default ${DEFAULT_LIMIT}, at most ${MAX_LIMIT});
                 when more match, stderr says so
  --json         each event as one JSON line, exactly as stored (for jq and scripts)

Unreadable lines (torn by a crash, not JSON) are skipped and counted on stderr.
The log itself is <dataDir>/audit.log: JSON lines, one event per line, so jq reads it directly too.

Examples:
  npm run cli -- audit --user alice --since 24h
  npm run cli -- audit --type 'login.*' --outcome failure --ip 203.0.113.0/24 --limit 200
  npm run cli -- audit --type keys.add --type keys.activate --type keys.remove --since 2026-11-01
  npm run -s cli -- audit --since 7d --limit ${MAX_LIMIT} --json | jq -r 'select(.reason == "invalid-credentials") | .ip' | sort | uniq -c`;

function time(args: ParsedArgs, name: 'since' | 'until', now: number): Date | undefined {
  const text = stringOption(args, name);
  if (text === undefined) return undefined;
  const date = parseTimeOption(text, now);
  if (!date) throw new UsageError(`--${name} takes a date (2026-11-01), a date-time (2026-11-01T10:00:00Z) or an age (30m, 24h, 7d), not "${text}"`);
  return date;
}

function limit(args: ParsedArgs): number {
  const text = stringOption(args, 'limit');
  if (text === undefined) return DEFAULT_LIMIT;
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(value >= 1 && value <= MAX_LIMIT)) throw new UsageError(`--limit takes a whole number from 1 to ${MAX_LIMIT}, not "${text}"`);
  return value;
}

function isOutcome(text: string): text is AuditEvent['outcome'] {
  return (OUTCOMES as readonly string[]).includes(text);
}

/** Every option checked before the log is read: a mistyped filter must not look like "nothing happened". */
function auditQuery(args: ParsedArgs, now: number): AuditQuery & { limit: number } {
  const empty = [...Object.entries(args.options), ...Object.entries(args.lists).flatMap(([name, values]) => values.map((value) => [name, value] as const))].find(([, value]) => value === '');
  if (empty) throw new UsageError(`--${empty[0]} needs a value`);
  const outcome = stringOption(args, 'outcome');
  if (outcome !== undefined && !isOutcome(outcome)) throw new UsageError(`--outcome is one of ${OUTCOMES.join(', ')}, not "${outcome}"`);
  const ip = stringOption(args, 'ip');
  if (ip !== undefined && ip !== UNKNOWN_CLIENT_IP && !parseIpOrCidr(ip)) throw new UsageError(`--ip takes an IP address, a CIDR (203.0.113.0/24) or "unknown" (clients a trusted proxy did not name), not "${ip}"`);
  const since = time(args, 'since', now);
  const until = time(args, 'until', now);
  if (since && until && since >= until) throw new UsageError('--since must be before --until');
  return { types: listOption(args, 'type'), user: stringOption(args, 'user'), rp: stringOption(args, 'rp'), outcome, ip, since, until, limit: limit(args) };
}

/**
 * One token on the line. Usernames of failed sign-ins are whatever was typed: quoting keeps a space
 * from faking a field, and escaping keeps control characters from acting on the admin's terminal.
 */
function token(value: unknown): string {
  // A list of names (the fields a change touched) reads best as a,b,c.
  if (Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'string' && item !== '' && !item.includes(','))) return token(value.join(','));
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  if (text !== '' && !/[\s"=\\\p{C}]/u.test(text)) return text;
  return terminalSafe(JSON.stringify(text));
}

function fieldOrder(name: string): number {
  const leading = LEADING_FIELDS.indexOf(name);
  return leading === -1 ? LEADING_FIELDS.length : leading;
}

function eventLine(event: StoredAuditEvent): string {
  const who = event.username !== undefined ? 'username' : event.userId !== undefined ? 'userId' : undefined;
  const columns = new Set(['at', 'type', 'outcome', who]);
  const fields = Object.keys(event)
    .filter((name) => !columns.has(name))
    .sort((a, b) => fieldOrder(a) - fieldOrder(b) || (a < b ? -1 : a > b ? 1 : 0))
    .map((name) => `${name}=${token(event[name])}`);
  const line = [token(event.at), token(event.type), token(event.outcome), who ? token(event[who]) : '-'];
  return (fields.length ? [...line, fields.join(' ')] : line).join('  ');
}

/** Said on stderr, so a pipe into jq gets the events alone. */
function limitNote(limit: number): string {
  const more = limit < MAX_LIMIT ? `give --limit N, up to ${MAX_LIMIT}, or narrow them with` : 'narrow them with';
  return `only the last ${limit} matching events are shown; earlier ones match too (${more} --since / --until)`;
}

/** Only the current file is read: after a rotation, an empty answer says where older events are. */
async function rotatedFilesHint(dataDir: string): Promise<string> {
  const rotated = (await readdir(dataDir).catch(() => [] as string[])).filter((name) => name.startsWith('audit.log') && name !== 'audit.log').sort();
  return rotated.length ? ` in audit.log (older events are in rotated files beside it, not read here: ${rotated.slice(0, 5).join(', ')}${rotated.length > 5 ? ', …' : ''})` : '';
}

export const auditCommands: CliCommand[] = [
  {
    name: 'audit',
    summary: 'read the audit log: sign-ins, logouts, MFA and admin changes, filtered by user, type, time ...',
    help: HELP,
    options: OPTIONS,
    arguments: [],
    async run(args, context) {
      const query = auditQuery(args, context.clock.now());
      // One more than asked, to tell when the limit cut matches off: a count over a week
      // (--since 7d --json | jq) must not take the last 50 events for all of them unawares.
      const { events: found, skipped } = await (await context.store()).audit.query({ ...query, limit: query.limit + 1 });
      const cut = found.length > query.limit;
      const events = cut ? found.slice(1) : found;
      for (const event of events) context.out(args.options.json === true ? JSON.stringify(event) : eventLine(event));
      if (events.length === 0) context.err(`no audit events match${await rotatedFilesHint(context.config.dataDir)}`);
      if (cut) context.err(limitNote(query.limit));
      if (skipped > 0) context.err(`${skipped} unreadable line(s) skipped`);
      return 0;
    },
  },
];
