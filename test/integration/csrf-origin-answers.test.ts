import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { request } from '../helpers/login-request.ts';

/**
 * A form sent with an Origin other than this service's is refused whatever its token. A named other
 * address is told as such (the page was opened at another name of this service, or forged); an
 * opaque `Origin: null` (a privacy-minded browser, a sandboxed frame, a redirect across sites) names
 * no address to point at, so the user gets the plain form-expired answer.
 */
const PASSWORD = 'Correct-horse-42';
let app: Booted;

before(async () => {
  app = await boot({ directory: { kind: 'local' } });
  await addLocalUser(app.services, 'alice', PASSWORD);
});
after(() => app?.close());

async function signInPage(browser: TestBrowser) {
  const tx = await app.services.interaction.deps.transactions.create(request());
  return { txId: tx.id, page: await browser.get(`${app.url}/login/${tx.id}`) };
}

test('a form with another Origin is refused, and the page names this service\'s own address', async () => {
  const browser = new TestBrowser();
  const { txId, page } = await signInPage(browser);
  const refused = await browser.submit(page, { username: 'alice', password: PASSWORD }, undefined, { origin: 'https://evil.example' });
  assert.equal(refused.status, 403);
  assert.match(refused.body, /sent from another address than this sign-in service/);
  assert.equal(app.finished.get(txId), undefined);
});

test('a form with Origin: null is refused with the plain form-expired answer', async () => {
  const browser = new TestBrowser();
  const { txId, page } = await signInPage(browser);
  const mark = app.logs.length;
  const refused = await browser.submit(page, { username: 'alice', password: PASSWORD }, undefined, { origin: 'null' });
  assert.equal(refused.status, 403);
  assert.match(refused.body, /Your form expired or was sent from another site/);
  assert.doesNotMatch(refused.body, /another address/);
  assert.equal(app.finished.get(txId), undefined);
  assert.deepEqual(app.logs.slice(mark).find((line) => line.code === 'CSRF_FAILED')?.detail, { origin: 'null' });
});

test('an Origin that only begins with this service\'s own is another address', async () => {
  const browser = new TestBrowser();
  const { txId, page } = await signInPage(browser);
  const lookAlike = `${new URL(app.url).origin}.evil.example`;
  const refused = await browser.submit(page, { username: 'alice', password: PASSWORD }, undefined, { origin: lookAlike });
  assert.equal(refused.status, 403);
  assert.match(refused.body, /sent from another address than this sign-in service/);
  assert.equal(app.finished.get(txId), undefined);
});
