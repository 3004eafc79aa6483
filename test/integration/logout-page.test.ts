import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { createRp, createUser, rpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';

/** Stepgate's own sign-out (/logout, /signed-out): it offers a sign-out only to someone signed in, and says "signed out" only when a session ended. */
const ALICE = { username: 'alice', password: 'correct horse 1' };
let app: Booted;
let rp: TestRp;

before(async () => {
  app = await boot();
  await createUser(app, ALICE);
  rp = await createRp(app);
});
after(() => app?.close());

const SIGNED_OUT = /<p role="status">You are signed out\. You can close this window\.<\/p>/;
const NOTHING_ENDED = /<p role="status">There was no sign-in here to end\. You can close this window\.<\/p>/;

test('someone not signed in is told so, with no Sign out button', async () => {
  const page = await new TestBrowser().get(`${app.url}/logout`);
  assert.equal(page.status, 200);
  assert.match(page.body, /You are not signed in\./);
  assert.doesNotMatch(page.body, /<form|<button/);
});

test('the sign-out that ends the session says "signed out"; the same form sent again (another tab) says there was nothing to end', async () => {
  const browser = rpBrowser();
  await signIn(rp, browser, ALICE);
  const confirm = await browser.get(`${app.url}/logout`);
  assert.match(confirm.body, /You are signed in as <strong>alice<\/strong>/);

  const done = await browser.submit(confirm, {}, '/logout');
  assert.equal(new URL(done.url).pathname, '/signed-out');
  assert.match(done.body, SIGNED_OUT);

  const again = await browser.submit(confirm, {}, '/logout');
  assert.equal(new URL(again.url).pathname, '/signed-out');
  assert.match(again.body, NOTHING_ENDED);
  assert.doesNotMatch(again.body, /You are signed out/);
});

test('/signed-out opened directly claims no sign-out: nothing ended without a session, and someone signed in is offered the sign-out', async () => {
  const browser = rpBrowser();
  assert.match((await browser.get(`${app.url}/signed-out`)).body, NOTHING_ENDED);
  await signIn(rp, browser, ALICE);
  const page = await browser.get(`${app.url}/signed-out`);
  assert.equal(new URL(page.url).pathname, '/logout');
  assert.match(page.body, /You are signed in as <strong>alice<\/strong>/);
  assert.doesNotMatch(page.body, /You are signed out/);
});
