import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { boot, type Booted } from '../helpers/boot.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { createRp, type TestRp } from '../helpers/oidc-rp.ts';
import { TestSp } from '../helpers/saml-sp.ts';
import { cliProcess } from '../helpers/cli.ts';
import { clientRegistry } from '../../src/oidc/client-registry.ts';
import { openWithPassword, sealWithPassword } from '../../src/core/password-envelope.ts';
import { CONFIG_EXPORT } from '../../src/config-transfer/config-payload.ts';

const EXPORT_PASSWORD = 'a long export passphrase';

interface Installation {
  app: Booted;
  secretKey: string;
}

let source: Installation;
let target: Installation;
let work: string;
let exportFile: string;
let passwordFile: string;
let carolId: string;
let rp: TestRp;
let sp: TestSp;

async function installation(): Promise<Installation> {
  const secretKey = randomBytes(32).toString('base64');
  return { app: await boot({}, { secretKey }), secretKey };
}

/** `npm run cli -- config <words>` on the installation; must succeed. */
async function config(at: Installation, ...words: string[]): Promise<void> {
  const run = await cliProcess(at.app, at.secretKey, ['config', ...words, '--password-file', passwordFile]);
  assert.equal(run.code, 0, `${run.out}\n${run.err}`);
}

async function lastImportEvent(at: Installation): Promise<Record<string, unknown>> {
  const events = (await readFile(join(at.app.dataDir, 'audit.log'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  return events.filter((event) => event.type === 'config.import').at(-1)!;
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'stepgate-import-audit-'));
  exportFile = join(work, 'config.json');
  passwordFile = join(work, 'export.pw');
  await writeFile(passwordFile, `${EXPORT_PASSWORD}\n`);
  source = await installation();
  carolId = await addLocalUser(source.app.services, 'carol', 'Correct-horse-42', { addGroups: ['staff'] });
  assert.ok((await source.app.services.policies.save({ name: 'staff-only', template: 'permit-specific-groups', parameters: { groups: ['staff'] } })).ok);
  rp = await createRp(source.app, { policy: 'staff-only' });
  sp = await TestSp.create(source.app, { name: 'imported', register: { policy: 'staff-only' } });
  await config(source, 'export', '--out', exportFile);
  target = await installation();
});

after(async () => {
  await source?.app.close();
  await target?.app.close();
  if (work) await rm(work, { recursive: true, force: true });
});

test('config.import names the records it adds, and the keys of this installation it retires (dry run and import)', async () => {
  const sourceKeys = (await source.app.services.keys.all()).map((key) => key.id).sort();
  const targetKeys = (await target.app.services.keys.all()).map((key) => key.id).sort();
  const expected = {
    policies: { add: 1, replace: 0, unchanged: 0, added: ['staff-only'] },
    samlServiceProviders: { add: 1, replace: 0, unchanged: 0, added: [sp.entityId] },
    oidcClients: { add: 1, replace: 0, unchanged: 0, added: [rp.client.id] },
    signingKeys: { add: 2, replace: 0, unchanged: 0, added: sourceKeys },
    localUsers: { add: 1, replace: 0, unchanged: 0, added: [carolId], addedUsernames: ['carol'] },
    retiredKeys: 2,
    retiredKeyIds: targetKeys,
  };
  // Key ids in id order: the order of the lists in the file and the store is not the point.
  const changes = (event: Record<string, unknown>) => {
    const picked = Object.fromEntries(Object.keys(expected).map((name) => [name, event[name]])) as Record<string, unknown>;
    (picked.signingKeys as { added: string[] }).added.sort();
    (picked.retiredKeyIds as string[]).sort();
    return picked;
  };

  await config(target, 'import', '--in', exportFile, '--replace', '--dry-run');
  const dryRun = await lastImportEvent(target);
  assert.deepEqual([dryRun.outcome, dryRun.reason], ['info', 'dry-run']);
  assert.deepEqual(changes(dryRun), expected, 'what a dry run would change');

  await config(target, 'import', '--in', exportFile, '--replace');
  const imported = await lastImportEvent(target);
  assert.equal(imported.outcome, 'success');
  assert.deepEqual(changes(imported), expected);
  assert.doesNotMatch(JSON.stringify(imported), /PRIVATE KEY|scrypt|secret/i, 'ids only: no secrets, hashes or keys');
});

test('a record replaced by the file is named; unchanged ones are only counted', async () => {
  assert.ok((await clientRegistry(target.app.services.store, target.app.services.box, target.app.services.clock).update(rp.client.id, { name: 'Renamed here' })).ok);
  await config(target, 'import', '--in', exportFile, '--replace');
  const event = await lastImportEvent(target);
  assert.deepEqual(event.oidcClients, { add: 0, replace: 1, unchanged: 0, replaced: [rp.client.id] });
  assert.deepEqual(event.localUsers, { add: 0, replace: 0, unchanged: 1 });
  assert.deepEqual([event.retiredKeys, event.retiredKeyIds], [0, undefined]);
});

test('the ids are bounded: the first 200 of a kind, beside the complete count', async () => {
  const payload = openWithPassword(await readFile(exportFile, 'utf8'), EXPORT_PASSWORD, CONFIG_EXPORT) as { policies: unknown[] };
  const names = Array.from({ length: 250 }, (_, index) => `bulk-${String(index).padStart(3, '0')}`);
  payload.policies.push(...names.map((name) => ({ id: name, definition: { name, rules: [{ then: { effect: 'permit' } }] }, updatedAt: 1 })));
  const bulk = join(work, 'bulk.json');
  await writeFile(bulk, sealWithPassword(payload, EXPORT_PASSWORD, CONFIG_EXPORT));
  await config(target, 'import', '--in', bulk, '--replace');
  const policies = (await lastImportEvent(target)).policies as { add: number; added: string[] };
  assert.equal(policies.add, 250);
  assert.deepEqual(policies.added, names.slice(0, 200));
});
