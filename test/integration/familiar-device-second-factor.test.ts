import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, TEST_FINISHER, type Booted } from '../helpers/boot.ts';
import { parseForms, TestBrowser, type Page } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { request as loginRequest } from '../helpers/login-request.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';

/**
 * A browser becomes familiar (its guesses then pass strangers' locks) only once a sign-in in it is
 * complete: for an application that requires a second factor, after that factor. Otherwise whoever
 * phished a user's password, but not the code, fills the account's list of familiar browsers with
 * sign-ins that stop at the code page, pushes the user's own browser out, and five wrong passwords
 * from anywhere then lock the user out of it.
 */
const PASSWORD = 'Correct-horse-42';
const USER_IP = '10.1.1.1';
const ATTACKER_IP = '203.0.113.66';
let now = Date.parse('2026-11-25T10:00:00Z');
const clock = { now: () => now };
let app: Booted;
const ids = new Map<string, string>();
/** Each user's TOTP secret, once a browser set it up. */
const secrets = new Map<string, string>();

before(async () => {
  app = await boot({ server: { trustedProxies: ['127.0.0.1/32'] }, directory: { kind: 'local' }, regulation: { maxFailuresPerUser: 5, maxFailuresPerIp: 1000, windowSeconds: 300, lockoutSeconds: 900 } }, { clock });
  for (const username of ['alice', 'bob', 'cara', 'dave', 'erin', 'fred']) ids.set(username, await addLocalUser(app.services, username, PASSWORD));
});
after(() => app?.close());

type Policy = 'permit-everyone' | 'permit-everyone-require-mfa';

/** Opens a sign-in to an application under `policy` in `browser` from `ip`; its transaction and first page. */
async function open(browser: TestBrowser, policy: Policy, ip: string): Promise<{ txId: string; page: Page }> {
  const tx = await app.services.interaction.deps.transactions.create(loginRequest({ rpId: `app-${policy}`, rpName: `App ${policy}`, rp: { policy, allowPasswordChange: false }, handoff: { finisher: TEST_FINISHER, ref: '' } }));
  return { txId: tx.id, page: await browser.get(`${app.url}/login/${tx.id}`, { headers: { 'x-forwarded-for': ip } }) };
}

/** A new sign-in (the browser's SSO session dropped) with `password`; the page the password led to. */
async function withPassword(browser: TestBrowser, policy: Policy, username: string, password: string, ip: string): Promise<{ txId: string; page: Page }> {
  browser.cookies.get(new URL(app.url).host)?.delete('sg_session');
  const { txId, page } = await open(browser, policy, ip);
  return { txId, page: await browser.submit(page, { username, password }, undefined, { 'x-forwarded-for': ip }) };
}

const isCodePage = (page: Page) => page.status === 200 && /Enter your code/.test(page.body);
const isSetupPage = (page: Page) => page.status === 200 && /<code id="totp-secret">/.test(page.body);
const hasDeviceCookie = (browser: TestBrowser) => browser.cookies.get(new URL(app.url).host)?.has('sg_device') ?? false;
const finished = (txId: string) => app.finished.get(txId)?.ok === true;

/** Each code in a window of its own: a code is taken once. */
function nextCode(username: string): string {
  now += 30_000;
  return oathtoolTotp(secrets.get(username)!, now);
}

/** A complete sign-in to the MFA application: the password, then the first setup (or the code, once set up). */
async function fullSignIn(browser: TestBrowser, username: string, ip = USER_IP): Promise<void> {
  const { txId, page } = await withPassword(browser, 'permit-everyone-require-mfa', username, PASSWORD, ip);
  if (isSetupPage(page)) {
    secrets.set(username, /<code id="totp-secret">([A-Z2-7 ]+)<\/code>/.exec(page.body)![1]!.replace(/ /g, ''));
    const codes = await browser.submit(page, { code: nextCode(username) }, undefined, { 'x-forwarded-for': ip });
    assert.match(codes.body, /Your backup codes/);
    await browser.submit(codes, {}, undefined, { 'x-forwarded-for': ip });
  } else {
    assert.ok(isCodePage(page), `${username}: the code page, got ${page.status} ${page.url}`);
    await browser.submit(page, { code: nextCode(username) }, undefined, { 'x-forwarded-for': ip });
  }
  assert.ok(finished(txId), `${username} signed in with the password and the second factor`);
}

/** Fresh browsers that each sign in with the right password and stop at the code page. */
async function stopAtCodePage(username: string, count: number): Promise<TestBrowser[]> {
  const browsers = Array.from({ length: count }, () => new TestBrowser());
  for (const [i, browser] of browsers.entries()) assert.ok(isCodePage((await withPassword(browser, 'permit-everyone-require-mfa', username, PASSWORD, ATTACKER_IP)).page), `sign-in ${i + 1} stops at the code page`);
  return browsers;
}

/** Fresh browsers that each sign in with the right password to an application that asks no second factor. */
async function passwordOnly(username: string, count: number): Promise<TestBrowser[]> {
  const browsers = Array.from({ length: count }, () => new TestBrowser());
  for (const [i, browser] of browsers.entries()) assert.ok(finished((await withPassword(browser, 'permit-everyone', username, PASSWORD, ATTACKER_IP)).txId), `password-only sign-in ${i + 1}`);
  return browsers;
}

/** Five wrong passwords from a stranger lock the name: a fresh browser's right password is refused. */
async function lockOut(username: string): Promise<void> {
  for (let i = 0; i < 5; i++) assert.equal((await withPassword(new TestBrowser(), 'permit-everyone', username, `wrong-${i}-guess`, ATTACKER_IP)).page.status, 401, `guess ${i + 1}`);
  assert.equal((await withPassword(new TestBrowser(), 'permit-everyone', username, PASSWORD, '10.9.9.9')).page.status, 429, `${username} is locked for strangers`);
}

/** The browser gets past strangers' lock: its right password leads on (to the code page at the MFA application). */
async function getsPast(browser: TestBrowser, username: string, policy: Policy = 'permit-everyone-require-mfa'): Promise<boolean> {
  const { txId, page } = await withPassword(browser, policy, username, PASSWORD, USER_IP);
  if (page.status === 429) return false;
  assert.ok(policy === 'permit-everyone' ? finished(txId) : isCodePage(page), `${username}: ${page.status} ${page.url}`);
  return true;
}

test("sign-ins with the password alone that stop at the code page neither become familiar nor push out the user's browser", async () => {
  const usual = new TestBrowser();
  await fullSignIn(usual, 'alice');
  // A later day: the code, not a first setup.
  await fullSignIn(usual, 'alice');

  const attackers = await stopAtCodePage('alice', 10);
  assert.equal(attackers.filter(hasDeviceCookie).length, 0, 'no familiar-device cookie without the second factor');
  await lockOut('alice');
  assert.equal(await getsPast(attackers[9]!, 'alice'), false, "a browser that stopped at the code page is refused by strangers' lock");
  assert.ok(await getsPast(usual, 'alice'), "the user's own browser still signs her in");
  const { events } = await app.services.store.audit.query({ types: ['login.password'], user: ids.get('alice')! });
  assert.equal(events.at(-1)?.familiarDevice, true);
});

test('sign-ins to an application that asks only the password become familiar, but never push out a browser that proved the second factor', async () => {
  const usual = new TestBrowser();
  await fullSignIn(usual, 'bob');
  const others = await passwordOnly('bob', 10);
  assert.equal(others.filter(hasDeviceCookie).length, 10, 'each got its cookie');
  await lockOut('bob');
  assert.ok(await getsPast(usual, 'bob'), 'the browser that proved his code is still familiar');
  assert.ok(await getsPast(others[9]!, 'bob', 'permit-everyone'), 'the latest password-only browser is familiar');
  assert.equal(await getsPast(others[0]!, 'bob', 'permit-everyone'), false, 'the oldest password-only browser made room for the newer ones');
});

test('a user who needs only the password: the browser is familiar from the answer to the password', async () => {
  const browser = new TestBrowser();
  const { page } = await open(browser, 'permit-everyone', USER_IP);
  const form = parseForms(page.body, page.url)[0]!;
  const answer = await browser.request(form.action, { method: 'POST', body: new URLSearchParams({ ...form.fields, username: 'cara', password: PASSWORD }), headers: { 'x-forwarded-for': USER_IP }, followRedirects: false });
  assert.equal(answer.status, 303);
  assert.match(answer.headers.get('location') ?? '', /\/resume\?tx=/, 'the sign-in is complete');
  assert.ok(answer.headers.getSetCookie().some((line) => line.startsWith('sg_device=')), 'and the cookie comes with it');
  await lockOut('cara');
  assert.ok(await getsPast(browser, 'cara', 'permit-everyone'));
});

test('a familiar browser that passes the password but not the second step is not moved up: it still signed in longest ago', async () => {
  const [first, second, ...rest] = await passwordOnly('dave', 10);
  // Dave has no second factor yet: the MFA application shows its setup, which he leaves.
  assert.ok(isSetupPage((await withPassword(first!, 'permit-everyone-require-mfa', 'dave', PASSWORD, USER_IP)).page));
  await passwordOnly('dave', 1);
  await lockOut('dave');
  assert.equal(await getsPast(first!, 'dave', 'permit-everyone'), false, 'the first browser is the one pushed out');
  assert.ok(await getsPast(second!, 'dave', 'permit-everyone'), 'the second is still familiar');
  assert.ok(await getsPast(rest[7]!, 'dave', 'permit-everyone'));
});

test('a browser that proves the second factor in a later sign-in of the same session counts as one that proved it', async () => {
  const setUp = new TestBrowser();
  await fullSignIn(setUp, 'erin');
  const usual = new TestBrowser();
  assert.ok(finished((await withPassword(usual, 'permit-everyone', 'erin', PASSWORD, USER_IP)).txId), 'the password alone, at the first application');
  const { txId, page } = await open(usual, 'permit-everyone-require-mfa', USER_IP);
  assert.ok(isCodePage(page), 'the MFA application asks only for the code: she is signed in');
  await usual.submit(page, { code: nextCode('erin') }, undefined, { 'x-forwarded-for': USER_IP });
  assert.ok(finished(txId));

  await passwordOnly('erin', 10);
  await lockOut('erin');
  assert.ok(await getsPast(usual, 'erin'), 'still familiar');
});

test('an unlock between the password and the code: the browser does not become familiar with what it proved before', async () => {
  const setUp = new TestBrowser();
  await fullSignIn(setUp, 'fred');
  const browser = new TestBrowser();
  const { txId, page } = await withPassword(browser, 'permit-everyone-require-mfa', 'fred', PASSWORD, ATTACKER_IP);
  assert.ok(isCodePage(page));
  await app.services.regulator.unlock('fred', ids.get('fred'));
  await browser.submit(page, { code: nextCode('fred') }, undefined, { 'x-forwarded-for': ATTACKER_IP });
  assert.ok(finished(txId));
  await lockOut('fred');
  assert.equal(await getsPast(browser, 'fred'), false, "the unlock's list starts empty");
  assert.equal(await getsPast(setUp, 'fred'), false, 'for every browser');
});
