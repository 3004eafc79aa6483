import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Profile } from '@node-saml/node-saml';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import { TestSp, isPasswordPage, samlPostForm, sendAuthnRequest } from '../helpers/saml-sp.ts';
import { ACR } from '../../src/policy/levels.ts';
import type { SsoSession } from '../../src/session/sso-session.ts';

/**
 * What a SAML sign-in leaves behind besides the assertion. The `saml.sso` success event is the admin's
 * record of how the user signed in (README audit table: `acr`, and the `requestId` that the page's
 * reference names). The SessionIndex is per SP (README: NameIDs are "stable per user and SP"): one
 * index shared by every SP of a session would let them link their pairwise NameIDs.
 */
const PASSWORD = 'Correct-horse-42';
let now = Date.now();
const clock = { now: () => now };
let app: Booted;
let userId: string;
let totpSecret: string;
let spA: TestSp;
let spB: TestSp;
let mfaSp: TestSp;

before(async () => {
  app = await boot({}, { clock });
  await addLocalUser(app.services, 'alice', PASSWORD);
  const user = (await app.services.directory.findUser('alice'))!;
  userId = user.id;
  const enrollment = app.services.mfa.totp.enrollment;
  totpSecret = (await enrollment.begin({ user, sessionId: 'setup' })).secret;
  now += 30_000;
  await enrollment.finish({ user, sessionId: 'setup', ip: '127.0.0.1' }, oathtoolTotp(totpSecret, now));
  [spA, spB, mfaSp] = await Promise.all([
    TestSp.create(app, { name: 'r10-index-a', register: { nameId: 'persistent' } }),
    TestSp.create(app, { name: 'r10-index-b', register: { nameId: 'persistent' } }),
    TestSp.create(app, { name: 'r10-audit-mfa', register: { policy: 'permit-everyone-require-mfa' } }),
  ]);
});
after(() => app?.close());

/** The SP's view of the answer; the IdP's clock may run ahead of real time here (codes are single use, so the test moves it on). */
async function profileOf(sp: TestSp, page: Page): Promise<Profile> {
  const { profile } = await sp.client({ acceptedClockSkewMs: 10 * 60_000 }).validatePostResponseAsync({ SAMLResponse: samlPostForm(page).fields.SAMLResponse! });
  assert.ok(profile, 'node-saml accepts the response');
  return profile;
}

async function lastSsoSuccess(sp: TestSp) {
  const events = (await app.services.store.audit.query({ types: ['saml.sso'], rp: sp.entityId, limit: 50 })).events.filter((event) => event.outcome === 'success');
  assert.ok(events.length > 0, `a saml.sso success event for ${sp.entityId}`);
  return events.at(-1)!;
}

test('the saml.sso success event carries the acr the assertion names (password, then MFA after a TOTP step-up) and the answering request\'s id', async () => {
  const browser = new TestBrowser();
  const passwordPage = await sendAuthnRequest(browser, spA);
  assert.ok(isPasswordPage(passwordPage));
  const answered = await browser.submit(passwordPage, { username: 'alice', password: PASSWORD });
  const profile = await profileOf(spA, answered);
  assert.match(profile.getAssertionXml!(), new RegExp(`<saml:AuthnContextClassRef>${ACR.password}</saml:AuthnContextClassRef>`));
  const byPassword = await lastSsoSuccess(spA);
  assert.deepEqual([byPassword.userId, byPassword.acr], [userId, ACR.password]);
  assert.ok(answered.headers.get('x-request-id'), 'the page names its request');
  assert.equal(byPassword.requestId, answered.headers.get('x-request-id'));

  const codePage = await sendAuthnRequest(browser, mfaSp, '', { disableRequestedAuthnContext: true });
  assert.match(codePage.body, /Enter your code/);
  now += 30_000;
  const steppedUp = await browser.submit(codePage, { code: oathtoolTotp(totpSecret, now) });
  assert.match((await profileOf(mfaSp, steppedUp)).getAssertionXml!(), new RegExp(`<saml:AuthnContextClassRef>${ACR.mfa}</saml:AuthnContextClassRef>`));
  const byMfa = await lastSsoSuccess(mfaSp);
  assert.deepEqual([byMfa.userId, byMfa.acr], [userId, ACR.mfa]);
  assert.equal(byMfa.requestId, steppedUp.headers.get('x-request-id'));
});

test('two SPs of one SSO session get different SessionIndex values, neither of them the session id or cookie', async () => {
  const browser = new TestBrowser();
  const first = await profileOf(spA, await browser.submit(await sendAuthnRequest(browser, spA), { username: 'alice', password: PASSWORD }));
  const reused = await sendAuthnRequest(browser, spB);
  assert.ok(!isPasswordPage(reused), 'the second SP is answered from the same SSO session');
  const second = await profileOf(spB, reused);

  const sessions = (await app.services.store.kv.entries<SsoSession>('sso-session')).map(([, session]) => session);
  const session = sessions.find((candidate) => candidate.participants.some((p) => p.rpId === spA.entityId && p.sessionIndex === first.sessionIndex));
  assert.ok(session, 'the session the first SP joined');
  assert.ok(session.participants.some((p) => p.rpId === spB.entityId && p.sessionIndex === second.sessionIndex), 'the second SP joined the same session');

  assert.ok(first.sessionIndex && second.sessionIndex);
  assert.notEqual(first.sessionIndex, second.sessionIndex, 'the SessionIndex is per SP');
  const cookie = [...browser.cookies.values()].map((jar) => jar.get('sg_session')).find(Boolean);
  assert.ok(cookie, 'the browser holds the SSO session cookie');
  for (const index of [first.sessionIndex, second.sessionIndex]) {
    assert.ok(!index.includes(session.id), 'the session id is not in the SessionIndex');
    assert.ok(!index.includes(cookie) && !cookie.includes(index), 'nor is the session cookie');
  }
});
