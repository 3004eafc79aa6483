import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as jose from 'jose';
import * as oidc from 'openid-client';
import { boot, type Booted } from '../helpers/boot.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { createRp, rpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';
import { cliProcess, type CliRun } from '../helpers/cli.ts';
import { until } from '../helpers/until.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import { SIGNING_KEY_COLLECTION, type LoadedKey, type SigningKeyRecord } from '../../src/keys/signing-keys.ts';

const PASSWORD = 'Correct-horse-42';
const SECRET_KEY = randomBytes(32).toString('base64');
let app: Booted;
let rp: TestRp;

before(async () => {
  app = await boot({}, { secretKey: SECRET_KEY });
  await addLocalUser(app.services, 'alice', PASSWORD);
  rp = await createRp(app);
});
after(async () => {
  await app?.close();
});

/** `npm run cli -- keys ...` in its own process; `settings` are the CLI's config file (the server keeps the defaults). */
function keys(words: string[], settings: ConfigInput = {}): Promise<CliRun> {
  return cliProcess(app, SECRET_KEY, ['keys', ...words], settings);
}

async function serverSees(id: string, status: LoadedKey['status'] | 'removed'): Promise<void> {
  await until(() => app.services.keys.all(), (all) => (all.find((key) => key.id === id)?.status ?? 'removed') === status, `the server to see ${id} ${status}`);
}

async function jwksKids(): Promise<string[]> {
  return ((await (await fetch(`${app.url}/oidc/jwks`)).json()) as jose.JSONWebKeySet).keys.map((key) => key.kid!);
}

/** keys add + keys activate for RS256; returns the key that was active before (now retired) and the new one. */
async function rotate(settings: ConfigInput = {}): Promise<{ old: string; current: string }> {
  const old = (await app.services.keys.active('RS256')).id;
  const added = await keys(['add', '--alg', 'RS256'], settings);
  assert.equal(added.code, 0, added.err);
  const current = /key (\S+) \(next\)/.exec(added.out)![1]!;
  const activated = await keys(['activate', current], settings);
  assert.equal(activated.code, 0, activated.err);
  await serverSees(old, 'retired');
  return { old, current };
}

const utcMinute = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
const utcMinuteUp = (ms: number) => utcMinute(Math.ceil(ms / 60_000) * 60_000);

test('a key retired less than session.absoluteTimeoutHours ago is not removed: sign-out with an ID Token it signed still works; keys list and the refusal say from when; --force removes it', async () => {
  const browser = rpBrowser();
  const { tokens } = await signIn(rp, browser, { username: 'alice', password: PASSWORD });
  const { old, current } = await rotate();
  const refused = await keys(['remove', old]);
  assert.equal(refused.code, 1, 'refused right after the rotation');
  const retiredAt = (await app.services.keys.all()).find((key) => key.id === old)!.retiredAt!;
  assert.equal(typeof retiredAt, 'number', 'the retirement time is recorded');
  const removableFrom = utcMinuteUp(retiredAt + 10 * 3_600_000);

  const listed = (await keys(['list'])).out.split('\n');
  const oldLine = listed.find((line) => line.startsWith(old))!;
  assert.match(oldLine, new RegExp(`^${old}  RS256  retired  added \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC, activated \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC, retired ${utcMinute(retiredAt)}, removable from ${removableFrom}; certificate until \\d{4}-\\d\\d-\\d\\d$`));
  assert.match(listed.find((line) => line.startsWith(current))!, new RegExp(`^${current}  RS256  active   added .* UTC, activated ${utcMinute(retiredAt)}; certificate until`));

  assert.match(refused.err, new RegExp(`key ${old} was retired at ${utcMinute(retiredAt)} and can be removed from ${removableFrom}, because applications send the ID Token of a sign-in back at sign-out \\(id_token_hint\\) .* session\\.absoluteTimeoutHours \\(10 h\\)`));
  assert.match(refused.err, /--force removes it now anyway/);
  assert.ok((await jwksKids()).includes(old), 'still published');

  // The application's ordinary sign-out, with the ID Token from before the rotation.
  const logout = oidc.buildEndSessionUrl(rp.config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: rp.postLogoutRedirectUri, state: 'bye' });
  const page = await browser.get(logout.toString());
  assert.equal(page.status, 200, page.body.slice(0, 400));
  assert.doesNotMatch(page.body, /could not validate id_token_hint/);

  const forced = await keys(['remove', old, '--force']);
  assert.equal(forced.code, 0, forced.err);
  assert.match(forced.out, new RegExp(`removed retired RS256 key ${old} before its time \\(--force\\)`));
  await serverSees(old, 'removed');
  const [event] = (await app.services.store.audit.query({ types: ['keys.remove'], limit: 1 })).events;
  assert.deepEqual([event?.keyId, event?.status, event?.forced], [old, 'retired', true]);
});

test('the wait is the longest of session.absoluteTimeoutHours, oidc.idTokenTtlSeconds and saml.assertionLifetimeSeconds: after it, no --force is needed', async () => {
  // The CLI's own config decides: here a session of 2 s, longer than the 1 s tokens and assertions.
  const short: ConfigInput = { session: { absoluteTimeoutHours: 2 / 3600 }, oidc: { idTokenTtlSeconds: 1 }, saml: { assertionLifetimeSeconds: 1 } };
  const { old } = await rotate(short);
  const early = await keys(['remove', old], short);
  assert.equal(early.code, 1);
  assert.match(early.err, /session\.absoluteTimeoutHours \(0\.000\d+ h\)/);
  await new Promise((resolve) => setTimeout(resolve, 2100));
  assert.match((await keys(['list'], short)).out, new RegExp(`${old}  RS256  retired  .*, removable now;`));
  const removed = await keys(['remove', old], short);
  assert.equal(removed.code, 0, removed.err);
  assert.equal(removed.out, `removed retired RS256 key ${old}`);

  const longTokens: ConfigInput = { session: { absoluteTimeoutHours: 2 / 3600 }, oidc: { idTokenTtlSeconds: 7200 } };
  const rotated = await rotate(longTokens);
  const refused = await keys(['remove', rotated.old], longTokens);
  assert.equal(refused.code, 1);
  assert.match(refused.err, /because ID Tokens are valid for oidc\.idTokenTtlSeconds \(7200 s\)/);
});

test('a retired key whose retirement time an earlier version did not record is kept until --force; keys list says the time is unknown', async () => {
  const generated = await app.services.keys.generate('ES256', 'retired');
  // As an earlier version stored it: no activation or retirement time.
  await app.services.store.collection<SigningKeyRecord>(SIGNING_KEY_COLLECTION).put(generated);
  assert.match((await keys(['list'])).out, new RegExp(`${generated.id}  ES256  retired  added .* UTC, activated \\(not recorded\\), retired \\(time not recorded: see the keys\\.activate event in the audit log\\)`));
  const refused = await keys(['remove', generated.id]);
  assert.equal(refused.code, 1);
  assert.match(refused.err, new RegExp(`when key ${generated.id} was retired is not recorded .* Keep it until 10 hours have passed since then, .*audit --type keys\\.activate.*--force`));
  const forced = await keys(['remove', generated.id, '--force']);
  assert.equal(forced.code, 0, forced.err);
});

test('a waiting (next) key can be withdrawn: no longer published, audited, and another one can be added', async () => {
  const added = await keys(['add', '--alg', 'ES256']);
  const next = /key (\S+) \(next\)/.exec(added.out)![1]!;
  await serverSees(next, 'next');
  assert.ok((await jwksKids()).includes(next));

  const withdrawn = await keys(['remove', next]);
  assert.equal(withdrawn.code, 0, withdrawn.err);
  assert.equal(withdrawn.out, `withdrew waiting ES256 key ${next}: no longer published`);
  await serverSees(next, 'removed');
  assert.ok(!(await jwksKids()).includes(next), 'gone from the JWKS');
  const [event] = (await app.services.store.audit.query({ types: ['keys.remove'], limit: 1 })).events;
  assert.deepEqual([event?.keyId, event?.alg, event?.status, event?.forced], [next, 'ES256', 'next', undefined]);

  const again = await keys(['add', '--alg', 'ES256']);
  assert.equal(again.code, 0, again.err);
  const active = (await app.services.keys.active('ES256')).id;
  const refused = await keys(['remove', active]);
  assert.equal(refused.code, 1);
  assert.match(refused.err, new RegExp(`key ${active} is active; only a retired key, or a waiting one \\(next\\), can be removed`));
});
