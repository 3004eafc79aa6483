import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { passwordSignInFrom } from '../helpers/login-request.ts';
import { loginBucket } from '../../src/regulation/login-bucket.ts';

/**
 * The familiar-device cookie outlives the sign-out by 90 days: at a shared computer it must not tell
 * the next person who signed in there last (with `users.idAttribute: mail` the account's id is the
 * email). It still makes the browser familiar to that account.
 */
const PASSWORD = 'Correct-horse-42';
let now = Date.parse('2026-11-24T10:00:00Z');
const clock = { now: () => now };
let app: Booted;
let aliceId: string;

before(async () => {
  app = await boot({ server: { trustedProxies: ['127.0.0.1/32'] }, directory: { kind: 'local' }, regulation: { maxFailuresPerUser: 3, maxFailuresPerIp: 100, windowSeconds: 300, lockoutSeconds: 900 } }, { clock });
  aliceId = await addLocalUser(app.services, 'alice', PASSWORD);
  await addLocalUser(app.services, 'bob', PASSWORD);
});
after(() => app?.close());

const signIn = (browser: TestBrowser, username: string, password: string, ip: string): Promise<Page> => passwordSignInFrom(app, browser, username, password, ip);

const signedIn = (page: Page) => /\/resume\?tx=/.test(page.url);
const deviceCookie = (browser: TestBrowser) => browser.cookies.get(new URL(app.url).host)?.get('sg_device');

/** Strangers' guesses until alice's name is locked for every browser it does not know. */
async function lockOutAlice(): Promise<void> {
  for (let i = 0; i < 3; i++) assert.equal((await signIn(new TestBrowser(), 'alice', `wrong-${i}-guess`, '203.0.113.66')).status, 401);
  assert.equal((await signIn(new TestBrowser(), 'alice', PASSWORD, '10.9.9.9')).status, 429, 'alice is locked for strangers');
}

test('the cookie names nobody: no form of the account id, the username or the email is in it', async () => {
  const browser = new TestBrowser();
  assert.ok(signedIn(await signIn(browser, 'alice', PASSWORD, '10.1.1.1')));
  const value = deviceCookie(browser);
  assert.ok(value, 'the browser got the cookie');
  const names = [aliceId, 'alice', 'alice@example.org'];
  const spellings = names.flatMap((name) => [name, ...(['base64url', 'base64', 'hex'] as const).map((encoding) => Buffer.from(name).toString(encoding))]);
  const decodedParts = decodeURIComponent(value)
    .split(/[.:]/)
    .flatMap((part) => [part, Buffer.from(part, 'base64url').toString('latin1'), Buffer.from(part, 'hex').toString('latin1')]);
  for (const spelling of spellings) assert.ok(!value.includes(spelling) && !decodedParts.some((part) => part.includes(spelling)), `the cookie holds ${spelling}`);
});

test("the browser is still familiar to alice: strangers' lock does not refuse it, and its cookie does nothing for another name or once altered", async () => {
  const laptop = new TestBrowser();
  assert.ok(signedIn(await signIn(laptop, 'alice', PASSWORD, '10.1.1.1')));
  const value = deviceCookie(laptop)!;
  await lockOutAlice();
  assert.ok(signedIn(await signIn(laptop, 'ALICE', PASSWORD, '10.1.1.1')), 'recognised, under any spelling of the name');
  const { events } = await app.services.store.audit.query({ types: ['login.password'], user: aliceId });
  assert.equal(events.at(-1)?.familiarDevice, true);

  // A character in the middle of the value: the last one may carry only padding bits.
  const middle = Math.floor(value.length / 2);
  const altered = `${value.slice(0, middle)}${value[middle] === 'A' ? 'B' : 'A'}${value.slice(middle + 1)}`;
  for (const cookie of [altered, value]) {
    const other = new TestBrowser();
    other.cookies.set(new URL(app.url).host, new Map([['sg_device', cookie]]));
    const username = cookie === value ? 'bob' : 'alice';
    await signIn(other, username, 'wrong-password-1', '10.1.1.1');
    const { events: refused } = await app.services.store.audit.query({ types: ['login.password'], limit: 1 });
    assert.equal(refused[0]?.familiarDevice, undefined, `${cookie === value ? "alice's cookie for bob's name" : 'an altered cookie'} is no familiar device`);
  }
});

test('a cookie of the earlier readable form (the account id in base64url) is not recognised', async () => {
  now += 3_600_000;
  const box = app.services.box;
  const id = 'dGVzdGRldmljZWlk';
  const encodedAccount = Buffer.from(aliceId).toString('base64url');
  const issued = String(now - 60_000);
  const mac = box.mac('familiar-device', [id, encodedAccount, issued, loginBucket('alice')].join('\0'));
  const old = new TestBrowser();
  old.cookies.set(new URL(app.url).host, new Map([['sg_device', [id, encodedAccount, issued, mac].join('.')]]));
  await lockOutAlice();
  assert.equal((await signIn(old, 'alice', PASSWORD, '10.1.1.1')).status, 429, 'the browser counts as unfamiliar, once');
});
