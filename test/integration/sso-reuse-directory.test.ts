import { fixtureLdif } from '../helpers/ldap-directory.ts';
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { Attribute, Change, Client } from 'ldapts';
import { ldapChange } from '../helpers/ldap-admin.ts';
import * as oidc from 'openid-client';
import { boot, type Booted } from '../helpers/boot.ts';
import { TcpRelay } from '../helpers/tcp-relay.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { TestSp, isPasswordPage, samlPostForm, sendAuthnRequest } from '../helpers/saml-sp.ts';
import { authRequest, callbackOf, createRp, rpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { BackchannelReceiver } from '../helpers/backchannel-receiver.ts';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { PPOLICY_DISABLED_TIME } from '../../src/directory/ldap-account-state.ts';
import { LocalUserAdmin } from '../../src/directory/local-user-admin.ts';
import type { SsoSession } from '../../src/session/sso-session.ts';

// An SSO session is reused for hours; the directory's answer for its user only for a few seconds
// (src/directory/user-lookup.ts). Instead of waiting, the tests move the IdP's clock past that. It
// starts behind real time and never gets ahead of it (the SPs would refuse assertions from the
// future), nor further behind than the IdP's allowed clock skew for the SPs' requests (120 s).
const PAST_LOOKUP_CACHE_MS = 10_500;
const CLOCK_START_BEHIND_MS = 115_000;
const ALICE_DN = 'uid=alice,ou=people,dc=example,dc=org';
const ALICE = { username: 'alice', password: 'Passw0rd!alice' };
const ENGINEERS = 'cn=engineers,ou=groups,dc=example,dc=org';
const IS_MEMBER_OF = 'urn:oid:1.3.6.1.4.1.5923.1.5.1.1';

function testClock(): { now(): number; passLookupCache(): void } {
  let offset = -CLOCK_START_BEHIND_MS;
  return {
    now: () => Date.now() + offset,
    passLookupCache: () => {
      offset += PAST_LOOKUP_CACHE_MS;
      assert.ok(offset < 0, 'the IdP clock stays behind real time');
    },
  };
}

const removeFromEngineers = (slapd: SlapdHandle) => ldapChange(slapd, ENGINEERS, new Change({ operation: 'delete', modification: new Attribute({ type: 'member', values: [ALICE_DN] }) }));
const addToEngineers = (slapd: SlapdHandle) => ldapChange(slapd, ENGINEERS, new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [ALICE_DN] }) }));
const disableAlice = (slapd: SlapdHandle) => ldapChange(slapd, ALICE_DN, new Change({ operation: 'replace', modification: new Attribute({ type: 'pwdAccountLockedTime', values: [PPOLICY_DISABLED_TIME] }) }));
const enableAlice = (slapd: SlapdHandle) => ldapChange(slapd, ALICE_DN, new Change({ operation: 'delete', modification: new Attribute({ type: 'pwdAccountLockedTime' }) }));

/** The isMemberOf values of a response, as node-saml reads them after checking its signatures; [] when none is released. */
async function isMemberOf(sp: TestSp, samlResponse: string): Promise<string[]> {
  const { profile } = await sp.validate(samlResponse);
  const values = profile?.[IS_MEMBER_OF] as string | string[] | undefined;
  return values === undefined ? [] : [values].flat().sort();
}

async function samlSignIn(browser: TestBrowser, sp: TestSp): Promise<Page> {
  const page = await sendAuthnRequest(browser, sp);
  assert.ok(isPasswordPage(page), `expected the password page, got ${page.status} ${page.url}`);
  return browser.submit(page, ALICE);
}

function ssoSessionCount(app: Booted): Promise<number> {
  return app.services.store.kv.count('sso-session');
}

/** The `session.ended` events of reason account-unavailable for `username` so far. */
async function accountUnavailableEnds(app: Booted, username: string): Promise<number> {
  const { events } = await app.services.store.audit.query({ limit: 200 });
  return events.filter((e) => e.type === 'session.ended' && e.reason === 'account-unavailable' && e.username === username).length;
}

/** What a client's back end can do with its tokens, no browser involved: each learns that the account is gone. */
const TOKEN_USES = {
  introspection: async (rp: TestRp, tokens: oidc.TokenEndpointResponse) => assert.equal((await oidc.tokenIntrospection(rp.config, tokens.access_token)).active, false),
  userinfo: async (rp: TestRp, tokens: oidc.TokenEndpointResponse) => assert.rejects(oidc.fetchUserInfo(rp.config, tokens.access_token, oidc.skipSubjectCheck), (error: oidc.WWWAuthenticateChallengeError) => error.status === 401),
  refresh: async (rp: TestRp, tokens: oidc.TokenEndpointResponse) => assert.rejects(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant'),
};

describe('SSO reuse asks the LDAP directory (real slapd) who the user is now', () => {
  let slapd: SlapdHandle;
  let relay: TcpRelay;
  let app: Booted;
  const clock = testClock();
  let everyone: TestSp;
  let engineersOnly: TestSp;
  let rp: TestRp;
  const receiver = new BackchannelReceiver();

  before(async () => {
    await receiver.start();
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
          groups: { nestedCacheSeconds: 0 },
        },
      },
      { clock },
    );
    assert.ok((await app.services.policies.save({ name: 'engineers-only', template: 'permit-specific-groups', parameters: { groups: ['engineers'], message: 'Only engineers may use the build system.' } })).ok);
    [everyone, engineersOnly] = await Promise.all([TestSp.create(app, { name: 'wiki' }), TestSp.create(app, { name: 'build', register: { policy: 'engineers-only' } })]);
    rp = await createRp(app, { policy: 'engineers-only' });
  });

  after(async () => {
    await app?.close();
    await relay?.cut();
    await slapd?.stop();
    await receiver.stop();
  });

  test('groups changed after sign-in: the policy and the released groups follow the directory, and the session records them', async () => {
    const browser = new TestBrowser();
    const first = samlPostForm(await samlSignIn(browser, everyone)).fields.SAMLResponse!;
    assert.deepEqual(await isMemberOf(everyone, first), ['all-staff', 'engineers', 'staff']);
    const { tokens } = await signIn(rp, rpBrowser(), ALICE);
    await removeFromEngineers(slapd);
    try {
      clock.passLookupCache();
      // The client's refresh token, issued while alice was an engineer, renews nothing now.
      await assert.rejects(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant');
      const refused = await sendAuthnRequest(browser, engineersOnly);
      assert.equal(refused.status, 403);
      assert.match(refused.body, /Only engineers may use the build system\./);
      assert.doesNotMatch(refused.body, /SAMLResponse/);

      const reused = samlPostForm(await sendAuthnRequest(browser, everyone)).fields.SAMLResponse!;
      assert.deepEqual(await isMemberOf(everyone, reused), [], 'engineers, and staff and all-staff through it, are gone');
      const sessions = await app.services.store.kv.entries<SsoSession>('sso-session');
      assert.deepEqual(sessions.find(([, s]) => s.user.username === 'alice')?.[1].user.groups, []);

      // The OIDC client of the same policy: its authorization request gets the refusal page, not a code.
      const request = await authRequest(rp);
      const page = await browser.get(request.url.toString());
      assert.equal(page.status, 403);
      assert.match(page.body, /Only engineers may use the build system\./);
    } finally {
      await addToEngineers(slapd);
    }
    clock.passLookupCache();
    assert.deepEqual(await isMemberOf(engineersOnly, samlPostForm(await sendAuthnRequest(browser, engineersOnly)).fields.SAMLResponse!), ['all-staff', 'engineers', 'staff']);
  });

  test('an account disabled after sign-in: its session ends at the next reuse, and the password no longer opens a new one', async () => {
    const browser = rpBrowser();
    const { tokens } = await signIn(rp, browser, ALICE);
    const before = await ssoSessionCount(app);
    await disableAlice(slapd);
    try {
      clock.passLookupCache();
      const reuse = await sendAuthnRequest(browser, everyone);
      assert.ok(isPasswordPage(reuse), `a password page, not an assertion: got ${reuse.status} ${reuse.url}`);
      assert.equal(await ssoSessionCount(app), before - 1, 'the SSO session was ended');
      const { events } = await app.services.store.audit.query({ limit: 20 });
      assert.ok(events.some((e) => e.type === 'session.ended' && e.reason === 'account-unavailable' && e.username === 'alice'));

      // slapd's ppolicy refuses the bind of a disabled account before it checks the password, so
      // the page cannot tell more than a wrong password would (ldap-directory.test.ts).
      const answer = await browser.submit(reuse, ALICE);
      assert.equal(answer.status, 401);
      assert.match(answer.body, /name="password"/);

      const silent = await authRequest(rp, { prompt: 'none' });
      const callback = callbackOf(rp, await browser.get(silent.url.toString()));
      assert.equal(callback.searchParams.get('error'), 'login_required');
      await assert.rejects(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant');
    } finally {
      await enableAlice(slapd);
    }
    // Enabled again: the ended session stays ended.
    clock.passLookupCache();
    assert.ok(isPasswordPage(await sendAuthnRequest(browser, everyone)));
  });

  for (const [use, check] of Object.entries(TOKEN_USES)) {
    test(`an account disabled after sign-in: the client's ${use} with its tokens ends the session, without the browser, and the client gets a Logout Token`, async () => {
      const logoutUri = receiver.endpoint();
      const client = await createRp(app, { backchannelLogoutUri: logoutUri });
      const { tokens } = await signIn(client, rpBrowser(), ALICE);
      const [sessions, ended] = [await ssoSessionCount(app), await accountUnavailableEnds(app, 'alice')];
      assert.equal((await oidc.tokenIntrospection(client.config, tokens.access_token)).active, true);
      await disableAlice(slapd);
      try {
        clock.passLookupCache();
        await check(client, tokens);
        assert.equal(await ssoSessionCount(app), sessions - 1, 'the SSO session was ended');
        assert.equal(await accountUnavailableEnds(app, 'alice'), ended + 1);
        assert.equal(receiver.tokensAt(logoutUri).length, 1, 'the client was told once');
        for (const other of Object.values(TOKEN_USES)) await other(client, tokens);
        assert.equal(await accountUnavailableEnds(app, 'alice'), ended + 1, 'ended once');
        assert.equal(receiver.tokensAt(logoutUri).length, 1);
      } finally {
        await enableAlice(slapd);
      }
    });
  }

  test('an account deleted after sign-in: the refresh is refused and ends its session at once', async () => {
    const logoutUri = receiver.endpoint();
    const client = await createRp(app, { backchannelLogoutUri: logoutUri });
    const { tokens } = await signIn(client, rpBrowser(), { username: 'dave', password: 'Passw0rd!dave' });
    const sessions = await ssoSessionCount(app);
    const admin = new Client({ url: slapd.url });
    try {
      await admin.bind(slapd.rootDn, slapd.rootPassword);
      await admin.del('uid=dave,ou=people,dc=example,dc=org');
    } finally {
      await admin.unbind();
    }
    clock.passLookupCache();
    await TOKEN_USES.refresh(client, tokens);
    assert.equal(await ssoSessionCount(app), sessions - 1);
    assert.equal(await accountUnavailableEnds(app, 'dave'), 1);
    assert.equal(receiver.tokensAt(logoutUri).length, 1);
    assert.equal((await oidc.tokenIntrospection(client.config, tokens.access_token)).active, false);
  });

  test('"my security" asks the directory too: an account disabled after its sign-in there cannot set up a second factor for the rest of the grant', async () => {
    const browser = rpBrowser();
    const signInPage = await browser.get(`${app.url}/account/security`);
    assert.ok(isPasswordPage(signInPage));
    assert.match((await browser.submit(signInPage, ALICE)).body, /My security settings/);
    const before = await ssoSessionCount(app);
    await disableAlice(slapd);
    try {
      clock.passLookupCache();
      const enroll = await browser.get(`${app.url}/account/security/totp`);
      assert.ok(isPasswordPage(enroll), `the password page, not a TOTP secret: got ${enroll.status} ${enroll.url}`);
      assert.doesNotMatch(enroll.body, /otpauth|secret/i);
      assert.equal(await ssoSessionCount(app), before - 1, 'the SSO session was ended');
    } finally {
      await enableAlice(slapd);
    }
  });

  test('directory unreachable: the reuse is refused with a clear page (prompt=none: temporarily_unavailable), nothing is issued, and the session and its tokens survive it', async () => {
    const browser = rpBrowser();
    await samlSignIn(browser, everyone);
    const { tokens } = await signIn(rp, rpBrowser(), ALICE);
    const sessions = await ssoSessionCount(app);
    await relay.cut();
    try {
      clock.passLookupCache();
      // A client's back end gets an error, not "inactive": the account is not known to be gone.
      await assert.rejects(oidc.tokenIntrospection(rp.config, tokens.access_token));
      await assert.rejects(oidc.fetchUserInfo(rp.config, tokens.access_token, oidc.skipSubjectCheck));
      await assert.rejects(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!));
      const page = await sendAuthnRequest(browser, everyone);
      assert.equal(page.status, 503);
      assert.match(page.body, /cannot reach the user directory/);
      assert.doesNotMatch(page.body, /SAMLResponse|at .*\.ts:\d+/);

      const oidcPage = await browser.get((await authRequest(rp)).url.toString());
      assert.equal(oidcPage.status, 503);
      assert.match(oidcPage.body, /cannot reach the user directory/);
      const silent = await authRequest(rp, { prompt: 'none' });
      const callback = callbackOf(rp, await browser.get(silent.url.toString()));
      assert.equal(callback.searchParams.get('error'), 'temporarily_unavailable');
      assert.equal(callback.searchParams.get('state'), silent.state);
      assert.equal(callback.searchParams.get('code'), null);

      assert.equal(await ssoSessionCount(app), sessions);
      const refusals = app.logs.filter((l) => l['code'] === 'DIRECTORY_UNAVAILABLE' && (l['detail'] as { reason?: string } | undefined)?.reason === 'sso-reuse-lookup');
      assert.ok(refusals.length > 0, 'the refused reuse is logged, with its cause');
      assert.ok(refusals.every((l) => typeof (l['detail'] as { directory?: unknown }).directory === 'string' && l['err'] === undefined), 'the cause as text, no stack: a known condition, not a fault');
    } finally {
      await relay.restore();
    }
    assert.ok(samlPostForm(await sendAuthnRequest(browser, everyone)).fields.SAMLResponse, 'the directory is back: the same session answers without a password');
    assert.equal((await oidc.tokenIntrospection(rp.config, tokens.access_token)).active, true, "and the client's tokens are good again");
    assert.ok((await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!)).access_token);
  });
});

test('local directory: a user disabled by the admin gets nothing from an existing session, and its OIDC client gets a Logout Token', async () => {
  const clock = testClock();
  const app = await boot({}, { clock });
  const logoutTokens: string[] = [];
  const receiver = createHttpServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    req.on('end', () => (logoutTokens.push(new URLSearchParams(body).get('logout_token') ?? ''), res.writeHead(200).end()));
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  try {
    const doraId = await addLocalUser(app.services, 'dora', 'Correct-horse-42');
    const sp = await TestSp.create(app, { name: 'first' });
    const rp = await createRp(app, { backchannelLogoutUri: `http://127.0.0.1:${(receiver.address() as { port: number }).port}/backchannel` });
    const browser = rpBrowser();
    await signIn(rp, browser, { username: 'dora', password: 'Correct-horse-42' });
    await new LocalUserAdmin(app.services.store, app.services.config, app.services.clock).update('dora', { disabled: true });
    clock.passLookupCache();

    assert.ok(isPasswordPage(await sendAuthnRequest(browser, sp)), 'no assertion: the password page');
    assert.equal(await ssoSessionCount(app), 0);
    assert.equal(logoutTokens.length, 1, 'the client of the ended session was told once');
    const { payload } = await jwtVerify(logoutTokens[0]!, createRemoteJWKSet(new URL(`${app.url}/oidc/jwks`)), { issuer: app.url, audience: rp.client.id, typ: 'logout+jwt' });
    assert.equal(payload.sub, doraId);
    assert.deepEqual(payload['events'], { 'http://schemas.openid.net/event/backchannel-logout': {} });
  } finally {
    await app.close();
    receiver.closeAllConnections();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  }
});

test('local directory: an account past its expiry date is gone for the sessions it already has, as a disabled one is', async () => {
  const clock = testClock();
  const app = await boot({}, { clock });
  try {
    await addLocalUser(app.services, 'dora', 'Correct-horse-42');
    const [first, second] = await Promise.all([TestSp.create(app, { name: 'first' }), TestSp.create(app, { name: 'second' })]);
    const rp = await createRp(app);
    const browser = rpBrowser();
    const signedIn = await sendAuthnRequest(browser, first);
    assert.ok(samlPostForm(await browser.submit(signedIn, { username: 'dora', password: 'Correct-horse-42' })).fields.SAMLResponse);
    const { tokens } = await signIn(rp, browser, undefined);
    await new LocalUserAdmin(app.services.store, app.services.config, app.services.clock).update('dora', { expiresAt: Date.parse('2020-01-01T23:59:59Z') });
    clock.passLookupCache();

    await assert.rejects(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant');
    assert.equal(await ssoSessionCount(app), 0, 'the refresh ended the session');
    assert.equal((await oidc.tokenIntrospection(rp.config, tokens.access_token)).active, false);
    assert.ok(isPasswordPage(await sendAuthnRequest(browser, second)), 'no assertion at a second SP: the password page');
    const silent = await authRequest(rp, { prompt: 'none' });
    assert.equal(callbackOf(rp, await browser.get(silent.url.toString())).searchParams.get('error'), 'login_required');
  } finally {
    await app.close();
  }
});
