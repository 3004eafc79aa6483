import type { CliCommand, CliContext } from '../command.ts';
import { stringOption, UsageError } from '../command.ts';
import { KEY_ALGORITHMS, KeyRotationError, signingKeys, type KeyAlgorithm } from '../../keys/signing-keys.ts';
import { auditAdminAction } from '../admin-audit.ts';

async function keysOf(context: CliContext) {
  return signingKeys(await context.store(), context.box(), context.clock, context.config.server.publicUrl);
}

/**
 * Every rotation step is in the audit log: which key, what happened, that the CLI did it. An
 * activation also names the key it retired: the one that stopped signing, which SPs may still trust alone.
 */
function audit(context: CliContext, type: 'keys.add' | 'keys.activate' | 'keys.remove', keyId: string, alg: string, retiredKeyId?: string): Promise<void> {
  return auditAdminAction(context, { type, keyId, alg, ...(retiredKeyId !== undefined ? { retiredKeyId } : {}) });
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
  4. keys remove <old id>        once tokens and assertions it signed have expired
A running server picks up each step within a second.`;

export const keysCommands: CliCommand[] = [
  {
    name: 'keys list',
    summary: 'list signing keys: id, algorithm, status (active, next, retired), certificate expiry',
    help: `Usage: npm run cli -- keys list\n\n${ROTATION}`,
    options: {},
    arguments: [],
    async run(_args, context) {
      for (const key of await (await keysOf(context)).all()) {
        const expiry = key.notAfter ? `  certificate until ${key.notAfter.toISOString().slice(0, 10)}` : '';
        context.out(`${key.id}  ${key.alg}  ${key.status.padEnd(7)}${expiry}`);
      }
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
        await audit(context, 'keys.activate', activated.id, activated.alg, retired?.id);
        context.out(`${activated.alg} key ${activated.id} is active${retired ? `; ${retired.id} is retired (still in the JWKS, no longer in the SAML metadata)` : ''}`);
      });
    },
  },
  {
    name: 'keys remove',
    summary: 'rotation step 4: stop publishing a retired key',
    help: `Usage: npm run cli -- keys remove <id>\n\nOnly a retired key can be removed. An id that starts with "--" goes after "--": keys remove -- --id\n\n${ROTATION}`,
    options: {},
    arguments: ['<id>'],
    async run(args, context) {
      const id = args.positional[0]!;
      const keys = await keysOf(context);
      return refusable(context, async () => {
        const record = await keys.remove(id);
        await audit(context, 'keys.remove', record.id, record.alg);
        context.out(`removed retired ${record.alg} key ${record.id}`);
      });
    },
  },
];
