import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, TEST_FINISHER, type Booted } from '../helpers/boot.ts';
import { request as loginRequest, startSignIn } from '../helpers/login-request.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { createUser, createUserWithTotp } from '../helpers/oidc-rp.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';

/**
 * A code or setup page left open for one user while another person signs in on the same browser (in
 * another tab, with their own second factor): the code sent from the first page is not taken, and the
 * sign-in does not go on by itself as the other person, which would hand them to the application from
 * a page that named someone else. The page says what happened and lets the user choose.
 */
const PASSWORD = 'correct horse 42';
let now = Date.parse('2026-11-24T14:00:15Z');
const clock = { now: () => now };
let app: Booted;
const secrets = new Map<string, string>();
const ids = new Map<string, string>();

before(async () => {
  app = await boot({}, { clock });
  for (const [username, name] of [['alice', 'Alice Liddell'], ['gina', 'Gina Example']] as const) {
    const { id, secret } = await createUserWithTotp(app, { username, name, password: PASSWORD }, now);
    ids.set(username, id);
    secrets.set(username, secret);
  }
  ids.set('hank', await createUser(app, { username: 'hank', name: 'Hank Example', password: PASSWORD }));
  now += 30_000;
});
after(() => app?.close());

async function openSignIn(browser: TestBrowser, rpName: string, forceAuthn = false): Promise<{ txId: string; page: Page }> {
  return startSignIn(app, browser, loginRequest({ rpId: rpName, rpName, forceAuthn, rp: { policy: 'permit-everyone-require-mfa', allowPasswordChange: false }, handoff: { finisher: TEST_FINISHER, ref: '' } }));
}

/** gina signs in to Wiki in another tab of the same browser, with her password and a code. */
async function ginaSignsInInAnotherTab(browser: TestBrowser): Promise<void> {
  const { txId, page } = await openSignIn(browser, 'Wiki', true);
  const code = await browser.submit(page, { username: 'gina', password: PASSWORD });
  now += 30_000;
  await browser.submit(code, { code: oathtoolTotp(secrets.get('gina')!, now) });
  assert.equal(app.finished.get(txId)?.ok, true, 'gina signed in in the other tab');
}

function assertToldAnotherUser(page: Page, txId: string): void {
  assert.equal(page.status, 409);
  assert.match(page.body, /<h1>Someone else signed in<\/h1>/);
  assert.match(page.body, /Since this page was shown, Gina Example \(gina\) signed in on this browser \(in another window or tab, for example\), so the code you entered was not checked and nothing was sent to Payroll\./);
  assert.match(page.body, new RegExp(`<a href="/login/${txId}">Continue to Payroll as Gina Example \\(gina\\)</a>`));
  assert.match(page.body, /<a href="\/logout">Sign out Gina Example \(gina\)<\/a>/);
  assert.equal(app.finished.get(txId), undefined, 'nothing reached the application');
}

test("alice's code, sent after gina signed in with her own code in another tab: not taken, and Payroll does not get gina unasked", async () => {
  const browser = new TestBrowser();
  const { txId, page } = await openSignIn(browser, 'Payroll');
  const codePage = await browser.submit(page, { username: 'alice', password: PASSWORD });
  assert.match(codePage.body, /Signed in as <strong>Alice Liddell<\/strong>/);
  await ginaSignsInInAnotherTab(browser);

  now += 30_000;
  const mark = app.logs.length;
  const answer = await browser.submit(codePage, { code: oathtoolTotp(secrets.get('alice')!, now) });
  assertToldAnotherUser(answer, txId);
  assert.deepEqual(app.logs.slice(mark).filter((line) => (line.level as number) >= 50), [], 'the page is the whole answer: nothing else is tried after it');
  assert.doesNotMatch(answer.body, /delete it/);

  // Going on as gina is a choice the page offers: then, and only then, Payroll gets her.
  await browser.get(`${app.url}/login/${txId}`);
  const result = app.finished.get(txId);
  assert.ok(result?.ok && result.user.username === 'gina');
});

test("hank's setup code, sent after gina signed in in another tab: not taken, hank is told his app's entry will not work", async () => {
  const browser = new TestBrowser();
  const { txId, page } = await openSignIn(browser, 'Payroll');
  const setupPage = await browser.submit(page, { username: 'hank', password: PASSWORD });
  const secret = /<code id="totp-secret">([^<]+)<\/code>/.exec(setupPage.body)![1]!.replace(/\s+/g, '');
  await ginaSignsInInAnotherTab(browser);

  now += 30_000;
  const mark = app.logs.length;
  const answer = await browser.submit(setupPage, { code: oathtoolTotp(secret, now) }, '/enroll');
  assertToldAnotherUser(answer, txId);
  assert.deepEqual(app.logs.slice(mark).filter((line) => (line.level as number) >= 50), [], 'the page is the whole answer: nothing else is tried after it');
  assert.match(answer.body, /The entry you added to your authenticator app for this setup will not work: delete it\./);
  assert.equal(await app.services.mfa.totp.isEnrolled((await app.services.directory.findUserById(ids.get('hank')!))!), false);
});
