import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { passwordSignInFrom, request } from '../helpers/login-request.ts';
import { LocalUserAdmin } from '../../src/directory/local-user-admin.ts';

const PASSWORD = 'Correct-horse-42';
const BOB_PASSWORD = 'Battery-staple-17';
const DAY_MS = 86_400_000;
const ATTACKER_IP = '203.0.113.66';
const ALICE_IP = '10.1.1.1';
let now = Date.parse('2026-11-23T10:00:00Z');
const clock = { now: () => now };
let app: Booted;
let bobId: string;
// Alice's two browsers, each signed in with her password before anyone guessed at her name.
const home = new TestBrowser();
const work = new TestBrowser();

before(async () => {
  app = await boot({ server: { trustedProxies: ['127.0.0.1/32'] }, directory: { kind: 'local' }, regulation: { maxFailuresPerUser: 3, maxFailuresPerIp: 100, windowSeconds: 300, lockoutSeconds: 900 } }, { clock });
  await addLocalUser(app.services, 'alice', PASSWORD);
  bobId = await addLocalUser(app.services, 'bob', BOB_PASSWORD);
});
after(() => app?.close());

const signIn = (browser: TestBrowser, username: string, password: string, ip: string): Promise<Page> => passwordSignInFrom(app, browser, username, password, ip);

const signedIn = (page: Page) => /\/resume\?tx=/.test(page.url);

/** A stranger's guesses until the name is locked: then even its right password is refused. */
async function lockOut(username: string, rightPassword: string): Promise<void> {
  for (let i = 0; i < 3; i++) assert.equal((await signIn(new TestBrowser(), username, `wrong-${i}-guess`, ATTACKER_IP)).status, 401, `guess ${i + 1}`);
  assert.equal((await signIn(new TestBrowser(), username, rightPassword, '10.9.9.9')).status, 429, `${username} is locked for strangers`);
}

async function lastPasswordEvent(): Promise<Record<string, unknown>> {
  const { events } = await app.services.store.audit.query({ types: ['login.password'] });
  return events.at(-1)!;
}

test('a right password gives the browser a long-lived familiar-device cookie: HttpOnly, SameSite=Lax, with no password in it', async () => {
  const tx = await app.services.interaction.deps.transactions.create(request());
  const page = await home.get(`${app.url}/login/${tx.id}`, { headers: { 'x-forwarded-for': ALICE_IP } });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
  const answer = await fetch(`${app.url}/login/${tx.id}/password`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: home.cookieHeader(app.url), 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': ALICE_IP },
    body: new URLSearchParams({ _csrf: csrf, username: 'alice', password: PASSWORD }),
  });
  assert.equal(answer.status, 303);
  const cookie = answer.headers.getSetCookie().find((line) => line.startsWith('sg_device='));
  assert.ok(cookie, answer.headers.getSetCookie().join('\n'));
  assert.match(cookie, /; Max-Age=7776000;/, '90 days');
  assert.match(cookie, /; HttpOnly/);
  assert.match(cookie, /; SameSite=Lax/);
  assert.match(cookie, /; Path=\//);
  assert.doesNotMatch(decodeURIComponent(cookie), /Correct-horse|alice/);
  home.cookies.get(new URL(app.url).host)!.set('sg_device', cookie.slice('sg_device='.length, cookie.indexOf(';')));
  assert.ok(signedIn(await signIn(work, 'alice', PASSWORD, '10.2.2.2')));
});

test("strangers' guesses lock the name for strangers; alice's browsers still sign her in, a fresh browser is refused", async () => {
  await lockOut('alice', PASSWORD);
  assert.equal((await signIn(new TestBrowser(), 'ALICE@example.org', PASSWORD, ALICE_IP)).status, 429, 'in any spelling, also from her usual address');
  for (const username of ['alice', 'ALICE']) {
    const page = await signIn(work, username, PASSWORD, '10.2.2.2');
    assert.ok(signedIn(page), `${username}: ${page.status} ${page.url}`);
  }
  const success = await lastPasswordEvent();
  assert.deepEqual([success.outcome, success.familiarDevice], ['success', true]);
  assert.equal((await signIn(new TestBrowser(), 'alice', PASSWORD, '10.2.2.2')).status, 429, 'a browser without the cookie, from the same address, is still refused');
});

test('the cookie counts only for the name it was issued to, and only as issued', async () => {
  await lockOut('bob', BOB_PASSWORD);
  assert.equal((await signIn(work, 'bob', BOB_PASSWORD, '10.2.2.2')).status, 429, "alice's cookie does nothing for bob's name");
  const value = work.cookies.get(new URL(app.url).host)!.get('sg_device')!;
  const [id, , issued, mac] = value.split('.');
  const forBob = [id, Buffer.from(bobId).toString('base64url'), issued, mac].join('.');
  const longerLived = [id, value.split('.')[1], String(Number(issued) + DAY_MS), mac].join('.');
  for (const altered of [forBob, longerLived, `${value}x`]) {
    const thief = new TestBrowser();
    thief.cookies.set(new URL(app.url).host, new Map([['sg_device', altered]]));
    assert.equal((await signIn(thief, 'bob', BOB_PASSWORD, '10.2.2.2')).status, 429, altered);
    assert.equal((await signIn(thief, 'alice', PASSWORD, '10.2.2.2')).status, 429, altered);
  }
});

test("alice's own typos at one browser lock that browser only", async () => {
  const started: unknown[] = [];
  for (let i = 0; i < 3; i++) {
    assert.equal((await signIn(home, 'alice', `typo-${i}-password`, ALICE_IP)).status, 401, `typo ${i + 1}: checked, although strangers have locked her name`);
    started.push((await lastPasswordEvent()).lockStarted);
  }
  assert.deepEqual(started, [undefined, undefined, ['device']]);
  const refused = await signIn(home, 'alice', PASSWORD, ALICE_IP);
  assert.equal(refused.status, 429);
  assert.match(refused.body, /Too many failed attempts\. Try again in 15 minutes\./);
  assert.equal((await lastPasswordEvent()).reason, 'rate-limited-device');
  assert.ok(signedIn(await signIn(work, 'alice', PASSWORD, '10.2.2.2')), 'her other browser is not locked');
});

test('a browser stays familiar for 90 days after its last sign-in with the password', async () => {
  now += 80 * DAY_MS;
  await lockOut('alice', PASSWORD);
  assert.ok(signedIn(await signIn(work, 'alice', PASSWORD, '10.2.2.2')), 'day 80: issued on day 0, renewed now');
  now += 80 * DAY_MS;
  await lockOut('alice', PASSWORD);
  assert.ok(signedIn(await signIn(work, 'alice', PASSWORD, '10.2.2.2')), 'day 160: 80 days after it was renewed');
  assert.equal((await signIn(home, 'alice', PASSWORD, ALICE_IP)).status, 429, 'the browser last signed in on day 0 is a stranger again');
  assert.equal((await lastPasswordEvent()).reason, 'rate-limited-user');
});

test('a familiar browser that signed in under an email also gets past strangers\' lock at the change-password form', async () => {
  await addLocalUser(app.services, 'cara', 'Lapwing-horse-31', { email: 'c.smith@example.org' });
  const laptop = new TestBrowser();
  assert.ok(signedIn(await signIn(laptop, 'c.smith@example.org', 'Lapwing-horse-31', ALICE_IP)), 'the laptop is familiar now');
  // Only marked: a password the admin sets would make the laptop a stranger (familiar-device-password-change.test.ts).
  await new LocalUserAdmin(app.services.store, app.services.config, app.services.clock).update('cara', { mustChangePassword: true });
  await lockOut('cara', 'Lapwing-horse-31');

  const change = await signIn(laptop, 'c.smith@example.org', 'Lapwing-horse-31', ALICE_IP);
  assert.match(change.body, /name="newPassword"/, `the change form, got ${change.status}`);
  const done = await laptop.submit(change, { currentPassword: 'Lapwing-horse-31', newPassword: 'Lapwing-horse-33', confirmPassword: 'Lapwing-horse-33' }, undefined, { 'x-forwarded-for': ALICE_IP });
  assert.ok(signedIn(done), `the new password is set and the sign-in goes on, got ${done.status} ${done.url}`);
});
