import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { signInToMfaApp } from '../helpers/mfa-app-sign-in.ts';
import { createUser, createUserWithTotp } from '../helpers/oidc-rp.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';

/**
 * A phone whose clock is 2 minutes off (beyond the default 30 s skew) shows codes that are never
 * accepted, at the setup and at every sign-in: the refusal names the likely cause, the phone's time,
 * instead of only "not correct" until the codes lock.
 */
const PASSWORD = 'correct horse 42';
const CLOCK_ADVICE = /If your app&#39;s codes are never accepted, check that your phone sets its date and time automatically\./;
let now = Date.parse('2026-11-24T14:00:15Z');
const clock = { now: () => now };
let app: Booted;
let aliceSecret: string;

before(async () => {
  app = await boot({}, { clock });
  aliceSecret = (await createUserWithTotp(app, { username: 'alice', password: PASSWORD }, now)).secret;
  await createUser(app, { username: 'carol', password: PASSWORD });
  now += 30_000;
});
after(() => app?.close());

const codePage = async (browser: TestBrowser, username: string) => (await signInToMfaApp(app, browser, { username, password: PASSWORD })).page;

test("a code from a phone 2 minutes slow, at sign-in: refused, with the phone's time named as the likely cause", async () => {
  const browser = new TestBrowser();
  const page = await codePage(browser, 'alice');
  const refused = await browser.submit(page, { code: oathtoolTotp(aliceSecret, now - 120_000) });
  assert.match(refused.body, /That code is not correct\./);
  assert.match(refused.body, CLOCK_ADVICE);
});

test('a setup code from a phone 2 minutes fast: the same advice', async () => {
  const browser = new TestBrowser();
  const page = await codePage(browser, 'carol');
  const secret = /<code id="totp-secret">([^<]+)<\/code>/.exec(page.body)![1]!.replace(/\s+/g, '');
  const refused = await browser.submit(page, { code: oathtoolTotp(secret, now + 120_000) }, '/enroll');
  assert.match(refused.body, /That code is not correct\./);
  assert.match(refused.body, CLOCK_ADVICE);
});

test('a mistyped backup code: told to check the list of backup codes, not the app or the phone\'s clock', async () => {
  const browser = new TestBrowser();
  const page = await codePage(browser, 'alice');
  const refused = await browser.submit(page, { code: 'abcde-fghij' });
  assert.equal(refused.status, 401);
  assert.match(refused.body, /<p class="error" role="alert" id="form-error">That backup code is not correct\. Check that you typed it exactly as it is on your list of backup codes, or enter the code from your authenticator app instead\. If you have neither your app nor a backup code you have not used, contact your helpdesk\.<\/p>/);
  assert.doesNotMatch(refused.body, CLOCK_ADVICE);
  assert.doesNotMatch(refused.body, /Check the code in your authenticator app/);
});
