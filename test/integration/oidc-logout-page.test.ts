import { fixtureLdif } from '../helpers/ldap-directory.ts';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { boot, type Booted } from '../helpers/boot.ts';
import { TcpRelay } from '../helpers/tcp-relay.ts';
import { createRp, rpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';

/**
 * RP-initiated logout's pages (src/oidc/pages.ts) with an LDAP directory (real slapd) that stops
 * answering: the confirmation still asks, and says why it names nobody in the log.
 */
const ALICE = { username: 'alice', password: 'Passw0rd!alice' };
// The directory's answer for a user is reused for 10 s (src/directory/user-lookup.ts): the IdP's
// clock moves past that instead of the test waiting. It starts behind real time and stays behind.
const PAST_LOOKUP_CACHE_MS = 11_000;
let offset = -60_000;
const clock = { now: () => Date.now() + offset };

let slapd: SlapdHandle;
let relay: TcpRelay;
let app: Booted;
let rp: TestRp;

before(async () => {
  slapd = await startSlapd({ ldif: await fixtureLdif() });
  relay = await TcpRelay.to(slapd.port);
  app = await boot(
    {
      directory: {
        kind: 'ldap',
        urls: [relay.url],
        connectTimeoutMs: 1000,
        searchTimeoutMs: 1000,
        bind: { dn: slapd.serviceDn, password: slapd.servicePassword },
        users: { baseDn: 'ou=people,dc=example,dc=org' },
      },
    },
    { clock },
  );
  rp = await createRp(app);
});

after(async () => {
  await app?.close();
  await relay?.cut();
  await slapd?.stop();
});

test('the logout confirmation names the account signed in here; when the directory cannot say who that is, it asks without the name and logs why (warn, with the request id)', async () => {
  const browser = rpBrowser();
  const { tokens } = await signIn(rp, browser, ALICE);
  const logoutUrl = oidc.buildEndSessionUrl(rp.config, { id_token_hint: tokens.id_token! }).toString();
  assert.match((await browser.get(logoutUrl)).body, /Signed in here as <strong>alice<\/strong>/);

  await relay.cut();
  try {
    offset += PAST_LOOKUP_CACHE_MS;
    const mark = app.logs.length;
    const confirm = await browser.get(logoutUrl);
    assert.equal(confirm.status, 200);
    assert.match(confirm.body, /<button type="submit" name="logout" value="yes">Sign out<\/button>/, 'still asks');
    assert.doesNotMatch(confirm.body, /Signed in here as/);
    const warnings = app.logs.slice(mark).filter((line) => line['event'] === 'oidc.logout.user-unknown');
    assert.equal(warnings.length, 1, 'the directory failure is logged');
    assert.equal(warnings[0]!['level'], 40, 'at warn');
    assert.equal(typeof warnings[0]!['reqId'], 'string', "in the request's own log");
    assert.match(String(warnings[0]!['error']), /no directory server reachable/, String(warnings[0]!['error']));
  } finally {
    await relay.restore();
  }
});

test('a confirmed logout without post_logout_redirect_uri ends on the signed-out page of every sign-out', async () => {
  const browser = rpBrowser();
  const { tokens } = await signIn(rp, browser, ALICE);
  const confirm = await browser.get(oidc.buildEndSessionUrl(rp.config, { id_token_hint: tokens.id_token! }).toString());
  const done = await browser.submit(confirm, { logout: 'yes' });
  assert.equal(done.status, 200);
  assert.match(new URL(done.url).pathname, /^\/oidc\/session\/end\/success$/);
  assert.match(done.body, /<h1>Signed out<\/h1>\n<p role="status">You are signed out\. You can close this window\.<\/p>/);
});

test('a sign-out request the provider refuses is called a sign-out request on its error page, not a sign-in request', async () => {
  const refused = await rpBrowser().get(`${app.url}/oidc/session/end?id_token_hint=not-a-token`);
  assert.equal(refused.status, 400);
  assert.match(refused.body, /The application sent a sign-out request that this sign-in service cannot accept\./);
});
