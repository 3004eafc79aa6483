import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import type { Page } from '../helpers/browser.ts';
import { authRequest, callbackOf, createRp, createUser, isCodePage, isEnrollPage, isPasswordPage, redeem, rpBrowser, type TestRp } from '../helpers/oidc-rp.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';

const PASSWORD = 'correct horse 42';
const MAX_AGE_SECONDS = 60;
let now = Date.now();
const clock = { now: () => now };
let app: Booted;
let rp: TestRp;
let passwordOnlyRp: TestRp;

/** The user takes longer than max_age between the password and what comes after it (a phone in another room). */
const slowerThanMaxAge = () => void (now += (MAX_AGE_SECONDS + 30) * 1000);

function secretOn(page: Page): string {
  return /<code id="totp-secret">([A-Z2-7 ]+)<\/code>/.exec(page.body)![1]!.replace(/ /g, '');
}

/** After the last step: the client's callback with a code, and the ID Token's amr. */
async function amrAtCallback(request: Awaited<ReturnType<typeof authRequest>>, page: Page, client = rp): Promise<unknown> {
  assert.ok(!isCodePage(page), 'a right code ends the second step: the code page is not shown again');
  const tokens = await redeem(client, request, callbackOf(client, page));
  return tokens.claims()!.amr;
}

before(async () => {
  // Passwords expire after 30 days and are warned about 14 days before: the warning is a page after the password.
  app = await boot({ directory: { kind: 'local', passwordRules: { maxAgeDays: 30, expiryWarningDays: 14 } } }, { clock });
  rp = await createRp(app, { policy: 'permit-everyone-require-mfa' });
  passwordOnlyRp = await createRp(app);
});
after(() => app?.close());

test('max_age: a right code typed after max_age has passed since the password typed in this sign-in completes it', async () => {
  await createUser(app, { username: 'maxine', password: PASSWORD });
  const browser = rpBrowser();
  const first = await authRequest(rp);
  const setup = await browser.submit(await browser.get(first.url.toString()), { username: 'maxine', password: PASSWORD });
  assert.ok(isEnrollPage(setup));
  const secret = secretOn(setup);
  await browser.submit(await browser.submit(setup, { code: oathtoolTotp(secret, now) }), {});

  now += 10 * 60_000;
  const request = await authRequest(rp, { max_age: String(MAX_AGE_SECONDS) });
  const passwordPage = await browser.get(request.url.toString());
  assert.ok(isPasswordPage(passwordPage), 'the session is older than max_age: the password is asked');
  const codePage = await browser.submit(passwordPage, { username: 'maxine', password: PASSWORD });
  assert.ok(isCodePage(codePage));
  slowerThanMaxAge();
  const answered = await browser.submit(codePage, { code: oathtoolTotp(secret, now) });
  assert.deepEqual(await amrAtCallback(request, answered), ['pwd', 'otp', 'mfa']);
});

test('max_age: a first setup confirmed after max_age has passed since the password completes the sign-in', async () => {
  await createUser(app, { username: 'maxwell', password: PASSWORD });
  const browser = rpBrowser();
  const request = await authRequest(rp, { max_age: String(MAX_AGE_SECONDS) });
  const setup = await browser.submit(await browser.get(request.url.toString()), { username: 'maxwell', password: PASSWORD });
  assert.ok(isEnrollPage(setup));
  slowerThanMaxAge();
  const codes = await browser.submit(setup, { code: oathtoolTotp(secretOn(setup), now) });
  assert.match(codes.body, /Your backup codes/);
  const answered = await browser.submit(codes, {});
  assert.deepEqual(await amrAtCallback(request, answered), ['pwd', 'otp', 'mfa']);
});

test('max_age: a password expiry warning read for longer than max_age still answers with the password in amr', async () => {
  await createUser(app, { username: 'maxim', password: PASSWORD });
  now += 20 * 24 * 3_600_000;
  const browser = rpBrowser();
  const request = await authRequest(passwordOnlyRp, { max_age: String(MAX_AGE_SECONDS) });
  const warning = await browser.submit(await browser.get(request.url.toString()), { username: 'maxim', password: PASSWORD });
  assert.match(warning.body, /Your password expires in 10 days/);
  slowerThanMaxAge();
  const answered = await browser.submit(warning, {}, '/continue');
  assert.deepEqual(await amrAtCallback(request, answered, passwordOnlyRp), ['pwd']);
});
