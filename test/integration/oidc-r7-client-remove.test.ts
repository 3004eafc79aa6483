import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import * as oidc from 'openid-client';
import { boot, type Booted } from '../helpers/boot.ts';
import { authRequest, callbackOf, createRp, createUser, redeem, rpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';
import { cliProcess } from '../helpers/cli.ts';
import { until } from '../helpers/until.ts';
import { clientRegistry } from '../../src/oidc/client-registry.ts';
import { ClientRevocations } from '../../src/oidc/client-revocations.ts';
import { ROUTES } from '../../src/oidc/provider.ts';

const SECRET_KEY = randomBytes(32).toString('base64');
const PASSWORD = 'correct horse 42';
let app: Booted;
let work: string;

before(async () => {
  app = await boot({}, { secretKey: SECRET_KEY });
  await createUser(app, { username: 'alice', password: PASSWORD, email: 'alice@example.org', groups: ['staff'] });
  work = await mkdtemp(join(tmpdir(), 'stepgate-client-remove-'));
  await writeFile(join(work, 'export.pw'), 'a long export passphrase\n');
});
after(async () => {
  await app?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

async function cli(...words: string[]): Promise<string> {
  const run = await cliProcess(app, SECRET_KEY, words);
  assert.equal(run.code, 0, `${words.join(' ')}: ${run.out}\n${run.err}`);
  return run.out;
}

/** The running server's view of the client's registration (re-read from the file within a second). */
const registeredOnServer = (rp: TestRp) => clientRegistry(app.services.store, app.services.box, app.services.clock).get(rp.client.id);

async function userinfoStatus(accessToken: string): Promise<number> {
  return (await fetch(`${app.url}${ROUTES.userinfo}`, { headers: { authorization: `Bearer ${accessToken}` } })).status;
}

const invalidGrant = (error: oidc.ResponseBodyError) => error.error === 'invalid_grant';

test('client remove revokes what was issued to the client: re-registering its client_id (config import of a backup) brings none of it back', async () => {
  const rp = await createRp(app);
  const browser = rpBrowser();
  const { tokens } = await signIn(rp, browser, { username: 'alice', password: PASSWORD });
  const pending = await authRequest(rp);
  const unredeemed = callbackOf(rp, await browser.get(pending.url.toString()));
  const exportFile = join(work, 'backup.json');
  await cli('config', 'export', '--out', exportFile, '--password-file', join(work, 'export.pw'));
  assert.match(await cli('session', 'list'), new RegExp(`oidc ${rp.client.id}`));

  const removed = await cli('client', 'remove', rp.client.id);
  assert.match(removed, /revoked/);
  const removedAt = Date.now();
  const revocations = new ClientRevocations(app.services.store.kv);
  await until(async () => !(await registeredOnServer(rp)) && (await revocations.voids({ clientId: rp.client.id, iat: 0 })), Boolean, 'the server to see the removal');
  await cli('config', 'import', '--in', exportFile, '--password-file', join(work, 'export.pw'));
  await until(() => registeredOnServer(rp), Boolean, 'the server to see the client again');

  await assert.rejects(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!), invalidGrant);
  await assert.rejects(redeem(rp, pending, unredeemed), invalidGrant);
  assert.equal(await userinfoStatus(tokens.access_token), 401);
  assert.equal((await oidc.tokenIntrospection(rp.config, tokens.access_token)).active, false);
  assert.doesNotMatch(await cli('session', 'list'), new RegExp(rp.client.id), 'the session no longer counts the client as signed in');
  const refused = (await app.services.store.audit.query({ types: ['oidc.refresh'], rp: rp.client.id })).events.at(-1);
  assert.equal(refused?.outcome, 'failure');

  // Grants made in the seconds after a removal count as the removed client's (a server re-reads the
  // registrations once a second): the re-registered client's own first sign-in comes after them.
  await sleep(Math.max(0, removedAt + 6_000 - Date.now()));
  const again = await signIn(rp, browser, undefined);
  assert.ok((await oidc.refreshTokenGrant(rp.config, again.tokens.refresh_token!)).access_token, 'the re-registered client signs its users in afresh');
  assert.equal(await userinfoStatus(again.tokens.access_token), 200);
  assert.match(await cli('session', 'list'), new RegExp(`oidc ${rp.client.id}`));
});

test('another client of the same session keeps its tokens when one is removed', async () => {
  const [kept, doomed] = [await createRp(app), await createRp(app)];
  const browser = rpBrowser();
  const { tokens } = await signIn(kept, browser, { username: 'alice', password: PASSWORD });
  await signIn(doomed, browser, undefined);
  await cli('client', 'remove', doomed.client.id);
  await until(async () => !(await clientRegistry(app.services.store, app.services.box, app.services.clock).get(doomed.client.id)), Boolean, 'the server to see the removal');
  assert.ok((await oidc.refreshTokenGrant(kept.config, tokens.refresh_token!)).access_token);
  assert.match(await cli('session', 'list'), new RegExp(`oidc ${kept.client.id}$`, 'm'));
});
