import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { boot, type Booted } from '../helpers/boot.ts';
import { createRp } from '../helpers/oidc-rp.ts';
import { cliProcess } from '../helpers/cli.ts';
import { until } from '../helpers/until.ts';
import { clientRegistry, type OidcClientRecord } from '../../src/oidc/client-registry.ts';
import { openWithPassword, sealWithPassword } from '../../src/core/password-envelope.ts';
import { CONFIG_EXPORT } from '../../src/config-transfer/config-payload.ts';
import type { ExportedClient } from '../../src/config-transfer/oidc-client-transfer.ts';

const SECRET_KEY = randomBytes(32).toString('base64');
const EXPORT_PASSWORD = 'a long export passphrase';
let app: Booted;
let work: string;

before(async () => {
  app = await boot({}, { secretKey: SECRET_KEY });
  work = await mkdtemp(join(tmpdir(), 'stepgate-import-type-'));
  await writeFile(join(work, 'export.pw'), `${EXPORT_PASSWORD}\n`);
});
after(async () => {
  await app?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

/** An export of this installation in which `change` rewrote the client's record, as a hand-edited or another installation's file would have it. */
async function exportWith(clientId: string, change: (client: ExportedClient) => ExportedClient): Promise<string> {
  const file = join(work, `${clientId}.json`);
  const exported = await cliProcess(app, SECRET_KEY, ['config', 'export', '--out', file, '--force', '--password-file', join(work, 'export.pw')]);
  assert.equal(exported.code, 0, exported.err);
  const payload = openWithPassword(await readFile(file, 'utf8'), EXPORT_PASSWORD, CONFIG_EXPORT) as { oidcClients: ExportedClient[] };
  payload.oidcClients = payload.oidcClients.map((client) => (client.id === clientId ? change(client) : client));
  await writeFile(file, sealWithPassword(payload, EXPORT_PASSWORD, CONFIG_EXPORT));
  return file;
}

async function importReplacing(file: string) {
  return cliProcess(app, SECRET_KEY, ['config', 'import', '--in', file, '--replace', '--password-file', join(work, 'export.pw')]);
}

const stored = (id: string): Promise<OidcClientRecord | undefined> => clientRegistry(app.services.store, app.services.box, app.services.clock).get(id);

test('config import --replace refuses to turn a confidential client into a public one, as client set does', async () => {
  const rp = await createRp(app);
  const file = await exportWith(rp.client.id, ({ secret: _secret, ...client }) => ({ ...client, tokenEndpointAuthMethod: 'none' }));
  const run = await importReplacing(file);
  assert.equal(run.code, 1, run.out);
  assert.match(run.err, new RegExp(`OIDC client ${rp.client.id}: it is confidential here and public in the file, and a client cannot change between public and confidential`));
  assert.match(run.err, new RegExp(`client remove ${rp.client.id}`));
  assert.equal((await stored(rp.client.id))?.tokenEndpointAuthMethod, 'client_secret_basic', 'nothing written');
});

test('config import --replace refuses to turn a public client into a confidential one', async () => {
  const rp = await createRp(app, { public: true });
  const file = await exportWith(rp.client.id, (client) => ({ ...client, tokenEndpointAuthMethod: 'client_secret_basic', secret: randomBytes(24).toString('base64url') }));
  const run = await importReplacing(file);
  assert.equal(run.code, 1, run.out);
  assert.match(run.err, /it is public here and confidential in the file/);
  assert.equal((await stored(rp.client.id))?.tokenEndpointAuthMethod, 'none');
});

test('config import --replace still takes other changes of a client, and a confidential client\'s other secret method', async () => {
  const rp = await createRp(app);
  const file = await exportWith(rp.client.id, (client) => ({ ...client, name: 'Renamed in the file', tokenEndpointAuthMethod: 'client_secret_post' }));
  const run = await importReplacing(file);
  assert.equal(run.code, 0, run.err);
  assert.match(run.out, /1 replaced/);
  await until(() => stored(rp.client.id), (client) => client?.name === 'Renamed in the file', 'the server to see the imported client');
});
