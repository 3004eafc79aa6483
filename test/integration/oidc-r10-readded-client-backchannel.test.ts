import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { boot, type Booted } from '../helpers/boot.ts';
import { createRp, createUser, rpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';
import { BackchannelReceiver } from '../helpers/backchannel-receiver.ts';
import { cliProcess } from '../helpers/cli.ts';
import { until } from '../helpers/until.ts';
import { clientRegistry } from '../../src/oidc/client-registry.ts';
import { ClientRevocations } from '../../src/oidc/client-revocations.ts';

/**
 * README: `client remove` revokes everything issued to the client, and users' sessions no longer
 * count it (no back-channel logout); registering the same client_id again (config import of a
 * backup) brings none of that back. So a session from before the removal, ended after the client is
 * back, sends the re-registered client no Logout Token, while its other clients are told as usual.
 */
const SECRET_KEY = randomBytes(32).toString('base64');
const ALICE = { username: 'alice', password: 'correct horse 42' };
const receiver = new BackchannelReceiver();
let app: Booted;
let work: string;

before(async () => {
  await receiver.start();
  app = await boot({}, { secretKey: SECRET_KEY });
  await createUser(app, ALICE);
  work = await mkdtemp(join(tmpdir(), 'stepgate-readded-client-'));
  await writeFile(join(work, 'export.pw'), 'a long export passphrase\n');
});
after(async () => {
  await app?.close();
  await receiver.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

async function cli(...words: string[]): Promise<string> {
  const run = await cliProcess(app, SECRET_KEY, words);
  assert.equal(run.code, 0, `${words.join(' ')}: ${run.out}\n${run.err}`);
  return run.out;
}

/** The running server's view of the client's registration (re-read from the file within a second). */
const registeredOnServer = (rp: TestRp) => clientRegistry(app.services.store, app.services.box, app.services.clock).get(rp.client.id);

async function backchannelAudit(rp: TestRp) {
  return (await app.services.store.audit.query({ types: ['oidc.backchannel-logout'], rp: rp.client.id, limit: 50 })).events;
}

test('a client removed and registered again gets no Logout Token for a session from before its removal; the session\'s other client does', async () => {
  const readdedUri = receiver.endpoint();
  const keptUri = receiver.endpoint();
  const readded = await createRp(app, { backchannelLogoutUri: readdedUri });
  const kept = await createRp(app, { backchannelLogoutUri: keptUri });
  const browser = rpBrowser();
  await signIn(readded, browser, ALICE);
  await signIn(kept, browser, undefined);
  const backup = join(work, 'backup.json');
  await cli('config', 'export', '--out', backup, '--password-file', join(work, 'export.pw'));

  await cli('client', 'remove', readded.client.id);
  const revocations = new ClientRevocations(app.services.store.kv);
  await until(async () => !(await registeredOnServer(readded)) && (await revocations.voids({ clientId: readded.client.id, iat: 0 })), Boolean, 'the server to see the removal');
  await cli('config', 'import', '--in', backup, '--password-file', join(work, 'export.pw'));
  const back = await until(() => registeredOnServer(readded), Boolean, 'the server to see the client again');
  assert.equal(back?.backchannelLogoutUri, readdedUri, 'registered again with its back-channel URI');

  const confirm = await browser.get(`${app.url}/logout`);
  const done = await browser.submit(confirm, {}, '/logout');
  assert.match(done.body, /You are signed out/);

  // The session's clients are told in one pass: once the client that stayed has its token and its audit event, the other would have too.
  await until(async () => receiver.tokensAt(keptUri).length, (count) => count === 1, 'the client that stayed to be told');
  await until(() => backchannelAudit(kept), (events) => events.length === 1, 'its back-channel logout audited');
  assert.deepEqual(receiver.tokensAt(readdedUri), [], 'the re-registered client is not told of a session from before its removal');
  assert.deepEqual(await backchannelAudit(readded), [], 'and no back-channel logout is audited for it');
});
