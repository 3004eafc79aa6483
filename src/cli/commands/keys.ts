import type { CliCommand, CliContext } from '../command.ts';
import { stringOption, UsageError } from '../command.ts';
import { KEY_ALGORITHMS, KeyRotationError, removedSigningKeys, signingKeys, type KeyAlgorithm, type LoadedKey, type RemovedSigningKey } from '../../keys/signing-keys.ts';
import { removableFrom, retiredKeyHold, type RetiredKeyHold } from '../../keys/retired-key-hold.ts';
import { utcEndMinute, utcMinuteWithZone } from '../../core/utc-minute.ts';
import { CERTIFICATE_WARNING_DAYS, describeCertificate } from '../../keys/certificate-expiry.ts';
import { removalsById, removeAgainCommand } from '../../keys/removed-key-published.ts';
import { auditAdminAction } from '../admin-audit.ts';

async function keysOf(context: CliContext) {
  return signingKeys(await context.store(), context.box(), context.clock, context.config.server.publicUrl);
}

/**
 * Every rotation step is in the audit log: which key, what happened, that the CLI did it. An
 * activation also names the key it retired: the one that stopped signing, which SPs may still trust alone.
 */
function audit(context: CliContext, type: 'keys.add' | 'keys.activate' | 'keys.remove', keyId: string, alg: string, details: Record<string, unknown> = {}): Promise<void> {
  return auditAdminAction(context, { type, keyId, alg, ...details });
}

/**
 * One key of `keys list`: its dates, so the admin can tell when step 4 is safe, and its certificate's
 * end, flagged when it is near. A time an earlier version did not record is said to be unknown. A key
 * removed here that is published again says so, with how it came back.
 */
function describeKey(key: LoadedKey, hold: RetiredKeyHold, now: number, removal: RemovedSigningKey | undefined): string {
  const dates = [`added ${utcMinuteWithZone(key.createdAt)}`];
  if (key.status !== 'next') dates.push(`activated ${key.activatedAt === undefined ? '(not recorded)' : utcMinuteWithZone(key.activatedAt)}`);
  if (key.status === 'retired') {
    const from = removableFrom(key, hold);
    if (from === undefined) dates.push('retired (time not recorded: see the keys.activate event in the audit log)');
    else dates.push(`retired ${utcMinuteWithZone(key.retiredAt!)}, ${from <= now ? 'removable now' : `removable from ${utcEndMinute(from)}`}`);
  }
  const certificate = key.notAfter ? `; ${describeCertificate(key.notAfter, now)}` : '';
  return `${key.id}  ${key.alg}  ${key.status.padEnd(7)}  ${dates.join(', ')}${certificate}${removal ? `; ${describeRemoval(key, removal)}` : ''}`;
}

function describeRemoval(key: LoadedKey, removal: RemovedSigningKey): string {
  const removed = `removed here on ${utcMinuteWithZone(removal.removedAt)}`;
  if (removal.restoredAt !== undefined) return `${removed}, published again by config import --restore-removed-keys on ${utcMinuteWithZone(removal.restoredAt)}`;
  return `${removed}, PUBLISHED AGAIN, with no record here of config import --restore-removed-keys (an earlier version's import, or a keys remove stopped half-way): remove it again with ${removeAgainCommand(key)}`;
}

/** A refused rotation step is the admin's answer, not a crash: say why and exit 1. */
async function refusable(context: CliContext, step: () => Promise<void>): Promise<number> {
  try {
    await step();
    return 0;
  } catch (error) {
    if (!(error instanceof KeyRotationError)) throw error;
    context.err(error.message);
    return 1;
  }
}

const ROTATION = `Rotation, without downtime:
  1. keys add --alg RS256        a new key is published (JWKS, SAML metadata) but does not sign yet
  2. wait until relying parties have fetched it (SAML SPs: re-import the IdP metadata)
  3. keys activate <id>          it signs from now on; the previous key is retired: still in the
                                 JWKS, no longer in the SAML metadata
  4. keys remove <old id>        once nothing it signed is presented any more: ID Tokens come back as
                                 id_token_hint at sign-out for a whole session, so not before
                                 session.absoluteTimeoutHours after step 3 ("keys list" says when)
A running server picks up each step within a second.`;

export const keysCommands: CliCommand[] = [
  {
    name: 'keys list',
    summary: 'list signing keys: id, algorithm, status (active, next, retired), dates, certificate expiry',
    help: `Usage: npm run cli -- keys list\n\nEach key with the dates it was added, activated and retired (times in UTC), when a retired key\ncan be removed, and the end of its certificate: flagged when it has expired or ends within ${CERTIFICATE_WARNING_DAYS} days.\nA key removed here (keys remove) that is published again says when it was removed and how it came back.\n\n${ROTATION}`,
    options: {},
    arguments: [],
    async run(_args, context) {
      const hold = retiredKeyHold(context.config);
      const now = context.clock.now();
      const removals = await removalsById(await context.store());
      for (const key of await (await keysOf(context)).all()) context.out(describeKey(key, hold, now, removals.get(key.id)));
      return 0;
    },
  },
  {
    name: 'keys add',
    summary: 'rotation step 1: add a key that is published but does not sign yet',
    help: `Usage: npm run cli -- keys add --alg RS256|ES256\n\n${ROTATION}`,
    options: { alg: 'string' },
    arguments: [],
    async run(args, context) {
      const alg = stringOption(args, 'alg');
      if (!alg || !(KEY_ALGORITHMS as readonly string[]).includes(alg)) throw new UsageError(`keys add needs --alg ${KEY_ALGORITHMS.join(' or ')}`);
      const keys = await keysOf(context);
      return refusable(context, async () => {
        const record = await keys.addNext(alg as KeyAlgorithm);
        await audit(context, 'keys.add', record.id, record.alg);
        context.out(`added ${alg} key ${record.id} (next): published now; activate it with: npm run cli -- keys activate ${record.id}`);
      });
    },
  },
  {
    name: 'keys activate',
    summary: 'rotation step 3: the waiting key signs from now on; the previous one is retired',
    help: `Usage: npm run cli -- keys activate <id>\n\nAn id that starts with "--" goes after "--": keys activate -- --id\n\n${ROTATION}`,
    options: {},
    arguments: ['<id>'],
    async run(args, context) {
      const id = args.positional[0]!;
      const keys = await keysOf(context);
      return refusable(context, async () => {
        const { activated, retired } = await keys.activate(id);
        await audit(context, 'keys.activate', activated.id, activated.alg, retired ? { retiredKeyId: retired.id } : {});
        context.out(`${activated.alg} key ${activated.id} is active${retired ? `; ${retired.id} is retired (still in the JWKS, no longer in the SAML metadata)` : ''}`);
      });
    },
  },
  {
    name: 'keys remove',
    summary: 'rotation step 4: stop publishing a retired key; or withdraw a waiting (next) key',
    help: `Usage: npm run cli -- keys remove <id> [--force]

A retired key is removed once nothing it signed can still be presented: the longest of
session.absoluteTimeoutHours (applications send the ID Token of a sign-in back at sign-out, as
id_token_hint, for the whole session), oidc.idTokenTtlSeconds and saml.assertionLifetimeSeconds,
counted from its retirement. Before then it is refused, with the time it becomes removable.
--force removes it anyway: sign-outs that send an ID Token it signed then fail ("could not
validate id_token_hint"), so users of sessions from before the rotation are not signed out.

A removed key is remembered by id: config import refuses a file that holds it (an export made
before the removal) unless told --skip-removed-keys or --restore-removed-keys.

A waiting key (next), added by mistake or no longer trusted, can be removed at any time: it never
signed. The active key cannot be removed. An id that starts with "--" goes after "--": keys remove -- --id

${ROTATION}`,
    options: { force: 'flag' },
    arguments: ['<id>'],
    async run(args, context) {
      const id = args.positional[0]!;
      const keys = await keysOf(context);
      return refusable(context, async () => {
        const removedKeys = removedSigningKeys(await context.store());
        const { removed, forced } = await keys.remove(id, { hold: retiredKeyHold(context.config), force: args.options.force === true, removedKeys });
        await audit(context, 'keys.remove', removed.id, removed.alg, { status: removed.status, ...(forced ? { forced } : {}) });
        context.out(removed.status === 'next' ? `withdrew waiting ${removed.alg} key ${removed.id}: no longer published` : `removed retired ${removed.alg} key ${removed.id}${forced ? ' before its time (--force)' : ''}`);
      });
    },
  },
];
