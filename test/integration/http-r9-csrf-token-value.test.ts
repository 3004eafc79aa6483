import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, parseForms, type Page } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { request, startSignIn } from '../helpers/login-request.ts';

/**
 * A form's `_csrf` must be the MAC of this browser's own binding cookie: being present is not enough.
 * A made-up value, or the genuine token of another browser (what an attacker gets by opening the page
 * himself), sent with the victim's cookies, is refused like a missing one and signs nobody in.
 */
const PASSWORD = 'Correct-horse-42';
let app: Booted;

before(async () => {
  app = await boot({ directory: { kind: 'local' } });
  await addLocalUser(app.services, 'alice', PASSWORD);
});
after(() => app?.close());

async function openSignIn(browser: TestBrowser): Promise<{ txId: string; page: Page }> {
  return startSignIn(app, browser, request());
}

const tokenOf = (page: Page): string => parseForms(page.body, page.url)[0]!.fields._csrf!;

test('a wrong or another browser\'s _csrf, sent with this browser\'s cookies, is refused and logged; its own token is accepted', async () => {
  const victim = new TestBrowser();
  const { txId, page } = await openSignIn(victim);
  const ownToken = tokenOf(page);
  const attackersToken = tokenOf((await openSignIn(new TestBrowser())).page);
  assert.notEqual(attackersToken, ownToken, 'each browser has its own binding, so its own token');

  for (const [label, forged] of [['made-up', 'x'], ['another browser\'s', attackersToken], ['own token altered', `${ownToken.slice(0, -1)}${ownToken.endsWith('A') ? 'B' : 'A'}`]] as const) {
    const mark = app.logs.length;
    const refused = await victim.submit(page, { _csrf: forged, username: 'alice', password: PASSWORD });
    assert.equal(refused.status, 403, label);
    assert.match(refused.body, /Your form expired or was sent from another site/, label);
    assert.equal(app.finished.get(txId), undefined, `${label}: nobody signed in`);
    assert.equal(victim.cookieHeader(app.url).includes('sg_session'), false, `${label}: no session`);
    const logged = app.logs.slice(mark).find((line) => line.code === 'CSRF_FAILED');
    assert.deepEqual(logged?.detail, { hasBinding: true, hasToken: true }, `${label}: logged as a failed form protection`);
  }

  const accepted = await victim.submit(page, { username: 'alice', password: PASSWORD });
  assert.match(accepted.url, /\/resume\?tx=/, 'the same form with its own token goes through');
  assert.equal(app.finished.get(txId)?.ok, true);
});
