import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { boot, type Booted } from '../helpers/boot.ts';
import type { Page, TestBrowser } from '../helpers/browser.ts';
import { createRp, createUser, isPasswordPage, authRequest, rpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';

/**
 * A sign-out confirmation replaced by a newer one (a second tab, the back button) ends nothing when
 * posted. Its page says so in sign-out words: the user is still signed in, and can sign out from
 * there; not that the application sent a request to report to its administrator.
 */
const ALICE = { username: 'alice', password: 'correct horse 42' };
let app: Booted;
let rp: TestRp;

before(async () => {
  app = await boot();
  await createUser(app, ALICE);
  rp = await createRp(app);
});
after(() => app?.close());

/** Signs in, then opens the client's sign-out twice, as in two tabs: the older confirmation, and the newer. */
async function twoConfirmations(): Promise<{ browser: TestBrowser; older: Page; newer: Page }> {
  const browser = rpBrowser();
  const { tokens } = await signIn(rp, browser, ALICE);
  const endSession = oidc.buildEndSessionUrl(rp.config, { id_token_hint: tokens.id_token! }).toString();
  const older = await browser.get(endSession);
  const newer = await browser.get(endSession);
  for (const page of [older, newer]) assert.match(page.body, /<button type="submit" name="logout" value="yes">Sign out<\/button>/);
  return { browser, older, newer };
}

async function stillSignedIn(browser: TestBrowser): Promise<boolean> {
  return !isPasswordPage(await browser.get((await authRequest(rp)).url.toString()));
}

test('"Sign out" on the older of two confirmations: the page says the user is still signed in and offers the sign-out again, which works', async () => {
  const { browser, older } = await twoConfirmations();
  const refused = await browser.submit(older, { logout: 'yes' });
  assert.equal(refused.status, 400);
  assert.match(refused.body, /<h1>Not signed out<\/h1>/);
  assert.match(refused.body, /You are still signed in:/);
  assert.doesNotMatch(refused.body, /sign-in request|administrator/);
  const again = /<a href="([^"]+)">Sign out<\/a>/.exec(refused.body);
  assert.ok(again, 'a way to sign out from here');
  assert.ok(await stillSignedIn(browser), 'what the page says is true');

  const confirm = await browser.get(new URL(again[1]!.replace(/&amp;/g, '&'), app.url).toString());
  assert.equal(confirm.status, 200);
  const done = await browser.submit(confirm, { logout: 'yes' });
  assert.match(done.body, /You are signed out\./);
  assert.ok(!(await stillSignedIn(browser)), 'signed out');
});

test('the older confirmation posted after the newer one signed out: not "still signed in", not a sign-in request', async () => {
  const { browser, older, newer } = await twoConfirmations();
  assert.match((await browser.submit(newer, { logout: 'yes' })).body, /You are signed out\./);
  const late = await browser.submit(older, { logout: 'yes' });
  assert.equal(late.status, 400);
  assert.doesNotMatch(late.body, /still signed in|sign-in request|administrator/);
  assert.match(late.body, /There was no sign-in here to end\./);
});
