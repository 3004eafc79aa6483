import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import type { Page } from '../helpers/browser.ts';
import { authRequest, callbackOf, createRp, createUser, isEnrollPage, isPasswordPage, redeem, rpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';

/**
 * A user signed in (password only) opens an OIDC client that requires a second factor they have not
 * set up: the setup page comes in the answer to the authorization request itself, and states how long
 * the user has to scan the code and type one. That time holds: the page is a use of the sign-in, which
 * then lives its full life, not the few minutes of a sign-in nobody has loaded a page of.
 */
const PASSWORD = 'correct horse 42';
let now = Date.now();
const clock = { now: () => now };
let app: Booted;
let passwordClient: TestRp;
let mfaClient: TestRp;

before(async () => {
  app = await boot({}, { clock });
  passwordClient = await createRp(app, { policy: 'permit-everyone' });
  mfaClient = await createRp(app, { policy: 'permit-everyone-require-mfa' });
});
after(() => app?.close());

const statedMinutes = (page: Page) => Number(/Finish this setup within (\d+) minutes?, or this sign-in expires\./.exec(page.body)?.[1]);
const shownSecret = (page: Page) => /<code id="totp-secret">([A-Z2-7 ]+)<\/code>/.exec(page.body)![1]!.replace(/ /g, '');

/** Signs `username` in at the password-only client, then opens the MFA client half a minute later: its first page, the setup, and the request. */
async function setupShownInline(username: string) {
  await createUser(app, { username, password: PASSWORD });
  const browser = rpBrowser();
  await signIn(passwordClient, browser, { username, password: PASSWORD });
  const signedInAt = now;
  now += 30_000;
  const request = await authRequest(mfaClient);
  const page = await browser.get(request.url.toString());
  assert.ok(isEnrollPage(page), `the setup page, got ${page.status} ${page.url}`);
  assert.doesNotMatch(page.url, /\/login\//, 'shown in the answer to the authorization request, not at the sign-in\'s own page');
  return { browser, request, page, signedInAt, shownAt: now };
}

test('the setup shown in the authorization response can still be finished just before the time its page states', async () => {
  const { browser, request, page, shownAt } = await setupShownInline('ines');
  const minutes = statedMinutes(page);
  assert.equal(minutes, 9, 'the 10 minutes of her password, less the half minute since');
  now = shownAt + minutes * 60_000 - 1_000;
  const codes = await browser.submit(page, { code: oathtoolTotp(shownSecret(page), now) });
  assert.match(codes.body, /Your backup codes/, `the setup is taken, got ${codes.status}:\n${codes.body.slice(0, 400)}`);
  const tokens = await redeem(mfaClient, request, callbackOf(mfaClient, await browser.submit(codes)));
  assert.deepEqual(tokens.claims()?.amr, ['pwd', 'otp', 'mfa'], 'the application gets her, with the factor just set up');
});

test('past the limit of her password the setup is not taken: the sign-in asks for the password again', async () => {
  const { browser, page, signedInAt } = await setupShownInline('jana');
  now = signedInAt + 10 * 60_000 + 1_000;
  const next = await browser.submit(page, { code: oathtoolTotp(shownSecret(page), now) });
  assert.ok(isPasswordPage(next), `the password page, got ${next.status}:\n${next.body.slice(0, 400)}`);
  assert.match(next.body, /Enter your password again to set up a second step for your sign-in\./);
});
