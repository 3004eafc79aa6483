import { fixtureLdif } from '../helpers/ldap-directory.ts';
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Attribute, Change } from 'ldapts';
import { ldapChange } from '../helpers/ldap-admin.ts';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import { TestSp, isPasswordPage, sendAuthnRequest } from '../helpers/saml-sp.ts';
import { authRequest, createRp, rpBrowser, type TestRp } from '../helpers/oidc-rp.ts';
import { accountFinder } from '../../src/oidc/account.ts';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { PPOLICY_DISABLED_TIME } from '../../src/directory/ldap-account-state.ts';
import type { UserLookup } from '../../src/directory/user-lookup.ts';
import type { KoaContextWithOIDC } from 'oidc-provider';

// The password step's directory answer is reused for 10 s (src/directory/user-lookup.ts). The tests
// move the IdP's clock past that, and past a TOTP period so a new code is not a replay; it starts
// behind real time and never gets ahead of it (SPs refuse assertions from the future).
const PAST_LOOKUP_CACHE_AND_TOTP_STEP_MS = 31_000;
const ALICE_DN = 'uid=alice,ou=people,dc=example,dc=org';
const ALICE = { username: 'alice', password: 'Passw0rd!alice' };
const ENGINEERS = 'cn=engineers,ou=groups,dc=example,dc=org';
/** node-saml asks for PasswordProtectedTransport exactly by default, which an MFA policy cannot give. */
const NO_REQUESTED_CONTEXT = { disableRequestedAuthnContext: true };

const memberChange = (operation: 'add' | 'delete') => new Change({ operation, modification: new Attribute({ type: 'member', values: [ALICE_DN] }) });
const lockChange = (operation: 'replace' | 'delete') => new Change({ operation, modification: new Attribute({ type: 'pwdAccountLockedTime', values: operation === 'replace' ? [PPOLICY_DISABLED_TIME] : [] }) });

describe('a sign-in waiting at its code step asks the LDAP directory (real slapd) again before it issues anything', () => {
  let slapd: SlapdHandle;
  let app: Booted;
  let offset = -100_000;
  const clock = { now: () => Date.now() + offset };
  let sp: TestSp;
  let rp: TestRp;
  let totpSecret: string;

  const totpPage = (page: Page) => assert.match(page.body, /name="code"/, `expected the code page, got ${page.status} ${page.url}`);
  const code = () => oathtoolTotp(totpSecret, clock.now());
  const samlSuccesses = async () => (await app.services.store.audit.query({ types: ['saml.sso'], outcome: 'success', limit: 500 })).events.length;

  before(async () => {
    slapd = await startSlapd({ ldif: await fixtureLdif() });
    app = await boot(
      {
        directory: {
          kind: 'ldap',
          urls: [slapd.url],
          bind: { dn: slapd.serviceDn, password: slapd.servicePassword },
          users: { baseDn: 'ou=people,dc=example,dc=org' },
          groups: { nestedCacheSeconds: 0 },
        },
      },
      { clock },
    );
    const saved = await app.services.policies.save({
      name: 'engineers-with-mfa',
      rules: [
        { when: { groups: ['engineers'] }, then: { effect: 'require-mfa' } },
        { then: { effect: 'deny', message: 'Only engineers may use the build system.' } },
      ],
    });
    assert.ok(saved.ok, JSON.stringify(saved));
    [sp, rp] = await Promise.all([TestSp.create(app, { name: 'build', register: { policy: 'engineers-with-mfa' } }), createRp(app, { policy: 'engineers-with-mfa' })]);

    // alice enrolls once, in a browser of her own.
    const enrolling = new TestBrowser();
    const enrollment = await enrolling.submit(await sendAuthnRequest(enrolling, sp, '', NO_REQUESTED_CONTEXT), ALICE);
    assert.match(enrollment.body, /Set up your authenticator app/);
    totpSecret = /<code id="totp-secret">([A-Z2-7 ]+)<\/code>/.exec(enrollment.body)![1]!.replace(/ /g, '');
    const backupCodes = await enrolling.submit(enrollment, { code: code() });
    assert.match(backupCodes.body, /Your backup codes/);
  });

  after(async () => {
    await app?.close();
    await slapd?.stop();
  });

  /** The password is accepted; the browser waits at the code page while the directory changes. */
  async function atCodeStep(browser: TestBrowser, start: () => Promise<Page>): Promise<Page> {
    const page = await browser.submit(await start(), ALICE);
    totpPage(page);
    offset += PAST_LOOKUP_CACHE_AND_TOTP_STEP_MS;
    assert.ok(offset < 0, 'the IdP clock stays behind real time');
    return page;
  }

  test('the directory lines about a sign-in carry its request id', async () => {
    const browser = new TestBrowser();
    const mark = app.logs.length;
    const refused = await browser.submit(await sendAuthnRequest(browser, sp, '', NO_REQUESTED_CONTEXT), { username: 'alice', password: 'not-her-password' });
    assert.equal(refused.status, 401);
    const line = app.logs.slice(mark).find((entry) => entry.event === 'ldap.auth.refused');
    assert.ok(line, 'the refusal is logged');
    assert.equal(line.component, 'ldap');
    assert.ok(typeof line.reqId === 'string' && line.reqId.length > 0, 'with the request id');
    assert.ok(app.logs.slice(mark).some((entry) => entry.reqId === line.reqId && entry.event !== 'ldap.auth.refused'), 'the same id as the request');
  });

  test('SAML: an account disabled while its user is at the code page gets no assertion, and its session ends', async () => {
    const browser = new TestBrowser();
    const page = await atCodeStep(browser, () => sendAuthnRequest(browser, sp, '', NO_REQUESTED_CONTEXT));
    const assertions = await samlSuccesses();
    await ldapChange(slapd, ALICE_DN, lockChange('replace'));
    try {
      const answer = await browser.submit(page, { code: code() });
      assert.doesNotMatch(answer.body, /SAMLResponse/, 'no assertion');
      // The code page's session just ended: the code is not taken, and the sign-in asks for the password again.
      assert.ok(isPasswordPage(answer), `got ${answer.status} ${answer.url}`);
      assert.ok(isPasswordPage(await sendAuthnRequest(browser, sp, '', NO_REQUESTED_CONTEXT)), 'no session left: the next request asks for the password');
      const { events } = await app.services.store.audit.query({ limit: 20 });
      assert.ok(events.some((e) => e.type === 'session.ended' && e.reason === 'account-unavailable' && e.username === 'alice'));
      assert.equal(await samlSuccesses(), assertions, 'no assertion audited');
    } finally {
      await ldapChange(slapd, ALICE_DN, lockChange('delete'));
    }
  });

  test('SAML and OIDC: a user moved out of the group the policy requires while at the code page gets the policy refusal, not an assertion or a code', async () => {
    for (const protocol of ['saml', 'oidc'] as const) {
      const browser = protocol === 'saml' ? new TestBrowser() : rpBrowser();
      const page = await atCodeStep(browser, async () => (protocol === 'saml' ? sendAuthnRequest(browser, sp, '', NO_REQUESTED_CONTEXT) : browser.get((await authRequest(rp)).url.toString())));
      await ldapChange(slapd, ENGINEERS, memberChange('delete'));
      try {
        const answer = await browser.submit(page, { code: code() });
        assert.equal(answer.status, 403, `${protocol}: got ${answer.status} ${answer.url}`);
        assert.match(answer.body, /Only engineers may use the build system\./);
        assert.doesNotMatch(answer.body, /SAMLResponse/);
        assert.ok(!browser.history.some((url) => url.startsWith(rp.redirectUri)), `${protocol}: no redirect to the client with a code`);
      } finally {
        await ldapChange(slapd, ENGINEERS, memberChange('add'));
      }
    }
  });
});

test('an OIDC authorization whose account disappeared just before the resume ends in access_denied, not a server error', async () => {
  const lookup = { find: async () => null } as unknown as UserLookup;
  const find = accountFinder(lookup, async () => true);
  for (const route of ['authorization', 'resume']) {
    await assert.rejects(async () => find({ oidc: { route } } as unknown as KoaContextWithOIDC, 'gone'), (error: Error & { error?: string }) => error.error === 'access_denied', route);
  }
  assert.equal(await find({ oidc: { route: 'userinfo' } } as unknown as KoaContextWithOIDC, 'gone'), undefined, 'elsewhere no account is a clean refusal of its own');
});
