import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { authRequest, createRp, createUser, isEnrollPage, rpBrowser, type TestRp } from '../helpers/oidc-rp.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';

/**
 * The setup page states how long the user has to scan the code and type one. Nothing is sent to the
 * server meanwhile, so with an idle timeout shorter than the sign-in (or the 10-minute grant of "My
 * security") the session ends first: the time stated must be the idle timeout's, and it must hold.
 */
const PASSWORD = 'correct horse 42';
const IDLE_MINUTES = 3;
let now = Date.now();
const clock = { now: () => now };
let app: Booted;
let mfaClient: TestRp;

before(async () => {
  app = await boot({ session: { idleTimeoutMinutes: IDLE_MINUTES } }, { clock });
  mfaClient = await createRp(app, { policy: 'permit-everyone-require-mfa' });
});
after(() => app?.close());

const statedMinutes = (page: Page) => Number(/Finish this setup within (\d+) minutes?, or/.exec(page.body)?.[1]);
const shownSecret = (page: Page) => /<code id="totp-secret">([A-Z2-7 ]+)<\/code>/.exec(page.body)![1]!.replace(/ /g, '');

test('during a sign-in, the setup page states the idle timeout when it is shorter, and a code typed just before that is taken', async () => {
  await createUser(app, { username: 'kira', password: PASSWORD });
  const browser = rpBrowser();
  const page = await browser.submit(await browser.get((await authRequest(mfaClient)).url.toString()), { username: 'kira', password: PASSWORD });
  assert.ok(isEnrollPage(page), `the setup page, got ${page.status} ${page.url}`);
  const minutes = statedMinutes(page);
  assert.ok(minutes >= 1 && minutes <= IDLE_MINUTES, `states ${minutes} minutes, within the ${IDLE_MINUTES}-minute idle timeout`);
  now += minutes * 60_000 - 1_000;
  const codes = await browser.submit(page, { code: oathtoolTotp(shownSecret(page), now) });
  assert.match(codes.body, /Your backup codes/, `the setup is taken, got ${codes.status}:\n${codes.body.slice(0, 400)}`);
});

test('on "My security", the setup page states the idle timeout when it is shorter than the grant, and it holds', async () => {
  await createUser(app, { username: 'lena', password: PASSWORD });
  const browser = new TestBrowser();
  const settings = await browser.submit(await browser.get(`${app.url}/account/security`), { username: 'lena', password: PASSWORD });
  assert.match(settings.body, /My security settings/);
  const page = await browser.get(`${app.url}/account/security/totp`);
  assert.ok(isEnrollPage(page), `the setup page, got ${page.status} ${page.url}`);
  const minutes = statedMinutes(page);
  assert.ok(minutes >= 1 && minutes <= IDLE_MINUTES, `states ${minutes} minutes, within the ${IDLE_MINUTES}-minute idle timeout`);
  now += minutes * 60_000 - 1_000;
  const codes = await browser.submit(page, { code: oathtoolTotp(shownSecret(page), now) }, 'totp');
  assert.match(codes.body, /Your backup codes/, `the setup is taken, got ${codes.status}:\n${codes.body.slice(0, 400)}`);
});
