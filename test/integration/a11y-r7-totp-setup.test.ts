import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, TEST_FINISHER, type Booted } from '../helpers/boot.ts';
import { request as loginRequest } from '../helpers/login-request.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import { signInToMfaApp } from '../helpers/mfa-app-sign-in.ts';

const PASSWORD = 'Correct-horse-42';
let now = Date.parse('2026-11-22T10:00:15Z');
const clock = { now: () => now };
const MINUTE = 60_000;
let app: Booted;

before(async () => {
  app = await boot({ directory: { kind: 'local' } }, { clock });
});
after(() => app?.close());

function shownSecret(page: Page): string {
  const match = /<p class="secret"><code id="totp-secret">([A-Z2-7 ]+)<\/code><\/p>/.exec(page.body);
  assert.ok(match, `expected the TOTP setup page with the key in a block of its own, got ${page.status} ${page.url}\n${page.body.slice(0, 400)}`);
  return match[1]!.replace(/ /g, '');
}

/** The minutes the setup page says are left. */
function statedMinutes(page: Page): number {
  const match = /<p id="setup-time-limit">Finish this setup within (\d+) minutes?, /.exec(page.body);
  assert.ok(match, `no time limit on ${page.url}`);
  return Number(match[1]);
}

const isBackupCodesPage = (page: Page) => /<h1>Your backup codes<\/h1>/.test(page.body);

describe('setup during a sign-in', () => {
  test('the page states the time left, offers the otpauth link, and the key in a block of its own; the code field reads the limit', async () => {
    await addLocalUser(app.services, 'tessa', PASSWORD);
    const { page } = await signInToMfaApp(app, new TestBrowser(), { username: 'tessa', password: PASSWORD });
    const secret = shownSecret(page);
    assert.equal(statedMinutes(page), 15);
    assert.match(page.body, /Finish this setup within 15 minutes, or this sign-in expires\. If it does, delete the entry you added to your authenticator app, then go back to MFA App and sign in again\./);
    const link = /<a href="(otpauth:\/\/totp\/[^"]+)">Open in an authenticator app on this device<\/a>/.exec(page.body);
    assert.ok(link, 'an otpauth link for an app on the same device');
    assert.equal(new URL(link[1]!.replace(/&amp;/g, '&')).searchParams.get('secret'), secret);
    assert.match(page.body, /<input id="field-code"[^>]* aria-describedby="setup-time-limit"/);
  });

  test('the time stated is the time there is: a code sent just before it ends is taken', async () => {
    await addLocalUser(app.services, 'ulrich', PASSWORD);
    const browser = new TestBrowser();
    now += 20_000;
    const { page } = await signInToMfaApp(app, browser, { username: 'ulrich', password: PASSWORD });
    now += 90_000;
    const reloaded = await browser.get(page.url);
    const minutes = statedMinutes(reloaded);
    assert.equal(minutes, 13, '15 minutes from the start of the sign-in, less the 110 seconds gone, rounded down');
    now += minutes * MINUTE - 1_000;
    assert.ok(isBackupCodesPage(await browser.submit(reloaded, { code: oathtoolTotp(shownSecret(reloaded), now) })), 'set up within the time stated');
  });

  test('a code sent after the sign-in expired: the page says to delete the entry just added, and where to go', async () => {
    await addLocalUser(app.services, 'viola', PASSWORD);
    const browser = new TestBrowser();
    const { page } = await signInToMfaApp(app, browser, { username: 'viola', password: PASSWORD });
    const secret = shownSecret(page);
    now += 15 * MINUTE + 1_000;
    const expired = await browser.submit(page, { code: oathtoolTotp(secret, now) });
    assert.equal(expired.status, 400);
    assert.match(expired.body, /<h1>Sign-in expired<\/h1>/);
    assert.match(expired.body, /Your sign-in to MFA App was not finished in time, so it has expired\. Go back to MFA App and sign in again\. The entry you added to your authenticator app for this setup will not work: delete it\. When you sign in again, you will be shown a code to add\./);

    // Any other form of an expired sign-in is told only where to go.
    const other = await browser.request(page.url.replace(/\/login\/([^/]+).*/, '/login/$1/password'), { method: 'POST', body: new URLSearchParams({ _csrf: /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!, username: 'viola', password: PASSWORD }) });
    assert.match(other.body, /was not finished in time/);
    assert.doesNotMatch(other.body, /delete it/);
  });

  test('after that expiry, the next sign-in in the same browser shows a new secret, as the page said', async () => {
    await addLocalUser(app.services, 'vera', PASSWORD);
    const browser = new TestBrowser();
    const { page } = await signInToMfaApp(app, browser, { username: 'vera', password: PASSWORD });
    const secret = shownSecret(page);
    now += 15 * MINUTE + 1_000;
    assert.match((await browser.submit(page, { code: oathtoolTotp(secret, now) })).body, /will not work: delete it/);
    // Back at the application: the browser's SSO session still stands, but its password is older than a
    // setup allows (as on "My security"), so it is asked first; then a new secret is shown.
    const tx = await app.services.interaction.deps.transactions.create(loginRequest({ rpId: 'mfa-app', rpName: 'MFA App', rp: { policy: 'permit-everyone-require-mfa', allowPasswordChange: false }, handoff: { finisher: TEST_FINISHER, ref: '' } }));
    const signIn = await browser.get(`${app.url}/login/${tx.id}`);
    assert.match(signIn.body, /<h1>Sign in<\/h1>/, 'the password is asked before the setup');
    const again = await browser.submit(signIn, { username: 'vera', password: PASSWORD });
    assert.notEqual(shownSecret(again), secret, 'a new secret, not the one whose entry the user was told to delete');
  });
});

describe('"My security"', () => {
  test('setup: the time left of the grant is stated; a code sent after it ended leads, through the sign-in, back to a new code with the note to delete the old entry', async () => {
    await addLocalUser(app.services, 'wanda', PASSWORD);
    const browser = new TestBrowser();
    await browser.submit(await browser.get(`${app.url}/account/security`), { username: 'wanda', password: PASSWORD });
    now += 30_000;
    const setup = await browser.get(`${app.url}/account/security/totp`);
    const oldSecret = shownSecret(setup);
    assert.equal(statedMinutes(setup), 9);
    assert.match(setup.body, /Finish this setup within 9 minutes, or you will have to sign in again\. If you do, delete the entry you added to your authenticator app: you will be shown a new code\./);
    assert.doesNotMatch(setup.body, /The time for the setup ran out/);

    now += 10 * MINUTE;
    const signIn = await browser.submit(setup, { code: oathtoolTotp(oldSecret, now) });
    assert.match(signIn.body, /<h1>Sign in<\/h1>/, 'the grant ended: the password is asked again');
    const again = await browser.submit(signIn, { username: 'wanda', password: PASSWORD });
    assert.equal(new URL(again.url).pathname, '/account/security/totp');
    assert.match(again.body, /<p class="notice" role="status">The time for the setup ran out, so you signed in again and this is a new code\. Delete the entry you added to your authenticator app before: it will not work\. Then scan the code below\.<\/p>/);
    const newSecret = shownSecret(again);
    assert.notEqual(newSecret, oldSecret);
    assert.ok(isBackupCodesPage(await browser.submit(again, { code: oathtoolTotp(newSecret, now) })));
  });

  test('new backup codes are made only after a page that says how many stop working', async () => {
    const userId = await addLocalUser(app.services, 'xaver', PASSWORD);
    const secret = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
    await app.services.mfa.enrollments.put(userId, 'xaver', secret, { digits: 6, periodSeconds: 30, algorithm: 'sha1' }, now);
    await app.services.mfa.backupCodes.regenerate(userId, 10, now);
    now += 30_000;
    const browser = new TestBrowser();
    const codePage = await browser.submit(await browser.get(`${app.url}/account/security`), { username: 'xaver', password: PASSWORD });
    const settings = await browser.submit(codePage, { code: oathtoolTotp(secret, now) });
    assert.match(settings.body, /<dd id="backup-codes-left">10<\/dd>/);
    assert.match(settings.body, /<a class="button secondary" href="\/account\/security\/backup-codes\/new">Make new backup codes<\/a>/);
    assert.doesNotMatch(settings.body, /<form[^>]*backup-codes/, 'no form on the settings page makes them at once');

    const regenerated = async () => (await app.services.store.audit.query({ types: ['mfa.backup-codes.regenerate'], user: userId })).events.length;
    const csrf = /name="_csrf" value="([^"]+)"/.exec(codePage.body)![1]!;
    const unconfirmed = await browser.request(`${app.url}/account/security/backup-codes`, { method: 'POST', body: new URLSearchParams({ _csrf: csrf }), followRedirects: false });
    assert.equal(unconfirmed.status, 303);
    assert.equal(unconfirmed.headers.get('location'), '/account/security/backup-codes/new', 'a POST without the confirmation is sent to the question');
    assert.equal(await regenerated(), 0);
    assert.equal(await app.services.mfa.backupCodes.remaining(userId), 10);

    const asked = await browser.get(`${app.url}/account/security/backup-codes/new`);
    assert.equal(asked.status, 200);
    assert.match(asked.body, /<h1>Make new backup codes\?<\/h1>/);
    assert.match(asked.body, /Your 10 remaining backup codes will stop working as soon as the new ones are made/);
    assert.match(asked.body, /<a class="button secondary" href="\/account\/security">Keep my current codes<\/a>/);
    const shown = await browser.submit(asked, {}, '/backup-codes');
    assert.equal(new URL(shown.url).pathname, '/account/security/backup-codes', 'shown by a GET after the POST');
    assert.equal([...shown.body.matchAll(/<li><code>[a-z2-7-]+<\/code>/g)].length, 10);
    assert.equal(await regenerated(), 1);
  });
});
