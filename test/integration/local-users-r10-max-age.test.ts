import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { request } from '../helpers/login-request.ts';

/**
 * passwordRules.maxAgeDays for local users: a password set maxAgeDays ago or earlier has expired. The
 * right password then leads to the change-password page ("Your password has expired…"), audited as a
 * login.password failure with reason account-password-expired, and the sign-in finishes only after the
 * change. A day younger, the same password signs in, with the expiry warning.
 */
const PASSWORD = 'Correct-horse-42';
const NEW_PASSWORD = 'Another-pass-77';
const DAY_MS = 86_400_000;
const SET_AT = Date.parse('2026-08-01T09:00:00Z');
let now = SET_AT;
const clock = { now: () => now };
let app: Booted;

before(async () => {
  app = await boot({ directory: { kind: 'local', passwordRules: { maxAgeDays: 90, expiryWarningDays: 14 } } }, { clock });
  now = SET_AT;
  await addLocalUser(app.services, 'young', PASSWORD);
  await addLocalUser(app.services, 'aged', PASSWORD);
  await addLocalUser(app.services, 'edge', PASSWORD);
});
after(() => app?.close());

const plainText = (page: Page) => page.body.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
const passwordEvents = async (user: string) => (await app.services.store.audit.query({ types: ['login.password'], user })).events;

async function signInWithPassword(username: string) {
  const browser = new TestBrowser();
  const tx = await app.services.interaction.deps.transactions.create(request());
  const page = await browser.get(`${app.url}/login/${tx.id}`);
  assert.match(page.body, /name="password"/);
  return { browser, txId: tx.id, answer: await browser.submit(page, { username, password: PASSWORD }) };
}

test('a password one day short of maxAgeDays still signs in, with the expiry warning', async () => {
  now = SET_AT + 89 * DAY_MS;
  const { browser, txId, answer } = await signInWithPassword('young');
  assert.match(plainText(answer), /Your password expires within a day\./);
  assert.doesNotMatch(plainText(answer), /has expired/);
  const continued = await browser.submit(answer);
  assert.match(continued.url, /\/resume\?tx=/);
  assert.equal(app.finished.get(txId)?.ok, true, 'the sign-in finishes without a change');
  const events = await passwordEvents('young');
  assert.equal(events.at(-1)?.outcome, 'success');
});

for (const [username, days] of [['aged', 91], ['edge', 90]] as const) {
  test(`a password set ${days} days ago (maxAgeDays 90) has expired: the change comes first, nothing is issued before it`, async () => {
    now = SET_AT + days * DAY_MS;
    const { browser, txId, answer } = await signInWithPassword(username);
    assert.match(plainText(answer), /Your password has expired\. Choose a new one to continue\./);
    assert.match(answer.body, /name="newPassword"/, 'the change-password form');
    assert.equal(app.finished.has(txId), false, 'no sign-in result (assertion, code) before the change');
    assert.equal(browser.cookieHeader(app.url).includes('sg_session'), false, 'no SSO session before the change');
    const events = await passwordEvents(username);
    assert.deepEqual([events.at(-1)?.outcome, events.at(-1)?.reason], ['failure', 'account-password-expired']);

    const done = await browser.submit(answer, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD, confirmPassword: NEW_PASSWORD });
    assert.match(done.url, /\/resume\?tx=/);
    assert.equal(app.finished.get(txId)?.ok, true, 'the sign-in finishes once the password is changed');
  });
}
