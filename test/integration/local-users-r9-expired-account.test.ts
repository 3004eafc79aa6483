import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { TestSp, isPasswordPage, samlPostForm, sendAuthnRequest } from '../helpers/saml-sp.ts';
import { authRequest, createRp, rpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';
import { runCli } from '../../src/cli/run-cli.ts';
import { COMMANDS } from '../../src/cli/commands/all.ts';

/**
 * `user update --expires YYYY-MM-DD`: the local account signs in up to that day and counts as
 * disabled after 23:59:59 UTC of it. Past it, the right password is refused at the password step
 * ("Your account has expired. Contact your helpdesk."), audited as account-expired, and no SAML
 * assertion, OIDC code or SSO session comes of it.
 */
const PASSWORD = 'Correct-horse-42';
const DAY_MS = 86_400_000;
// The clock never goes behind the real time: node-saml dates its requests by it.
let now = Date.now();
const clock = { now: () => now };
const utcDay = (at: number) => new Date(at).toISOString().slice(0, 10);
/** The account's last day, the day after tomorrow (UTC); the day before it is tomorrow. */
const LAST_DAY = utcDay(now + 2 * DAY_MS);
const DAY_BEFORE = utcDay(now + DAY_MS);
const endOfLastDay = Date.parse(`${LAST_DAY}T23:59:59Z`);
let app: Booted;
let sp: TestSp;
let rp: TestRp;

before(async () => {
  app = await boot({ saml: { requestMaxAgeSeconds: 4 * 24 * 3600 } }, { clock });
  await addLocalUser(app.services, 'dora', PASSWORD);
  const { services } = app;
  const errors: string[] = [];
  const code = await runCli(COMMANDS, ['user', 'update', 'dora', '--expires', LAST_DAY], { config: () => services.config, store: async () => services.store, box: () => services.box, clock: services.clock, out: () => undefined, err: (line) => errors.push(line) });
  assert.equal(code, 0, errors.join('\n'));
  sp = await TestSp.create(app, { name: 'r9-expires' });
  rp = await createRp(app);
});
after(() => app?.close());

const plainText = (page: Page) => page.body.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
const passwordEvents = async () => (await app.services.store.audit.query({ types: ['login.password'], user: 'dora' })).events;

async function samlSignInWorks(): Promise<boolean> {
  const browser = new TestBrowser();
  const page = await sendAuthnRequest(browser, sp);
  assert.ok(isPasswordPage(page));
  const answer = await browser.submit(page, { username: 'dora', password: PASSWORD });
  return answer.status === 200 && Boolean(samlPostForm(answer).fields.SAMLResponse);
}

test('the day before its --expires day, and on that day until its last minute, the account signs in with its password', async () => {
  now = Date.parse(`${DAY_BEFORE}T12:00:00Z`);
  assert.ok(await samlSignInWorks(), 'SAML, the day before');
  const { claims } = await signIn(rp, rpBrowser(), { username: 'dora', password: PASSWORD });
  assert.equal(claims.preferred_username, 'dora', 'OIDC, the day before');
  now = endOfLastDay - 60_000;
  assert.ok(await samlSignInWorks(), 'SAML, at 23:58:59 UTC of the last day');
});

test('past 23:59:59 UTC of its --expires day the right password is refused at the password step: no assertion, no session, audited', async () => {
  now = endOfLastDay + 60_000;
  const before = (await passwordEvents()).length;
  const browser = new TestBrowser();
  const page = await sendAuthnRequest(browser, sp);
  assert.ok(isPasswordPage(page));
  const refused = await browser.submit(page, { username: 'dora', password: PASSWORD });
  assert.equal(refused.status, 403);
  assert.match(plainText(refused), /Account expired/);
  assert.match(plainText(refused), /Your account has expired\. Contact your helpdesk\./);
  assert.doesNotMatch(refused.body, /name="SAMLResponse"/, 'no assertion');
  assert.equal(browser.cookieHeader(app.url).includes('sg_session'), false, 'no SSO session');
  const events = (await passwordEvents()).slice(before);
  assert.deepEqual(events.map((event) => [event.outcome, event.reason]), [['failure', 'account-expired']]);
});

test('past its --expires day an OIDC sign-in with the right password gets no code', async () => {
  const browser = rpBrowser();
  const request = await authRequest(rp);
  const page = await browser.get(request.url.toString());
  assert.ok(isPasswordPage(page));
  const refused = await browser.submit(page, { username: 'dora', password: PASSWORD });
  assert.equal(refused.status, 403);
  assert.match(plainText(refused), /Your account has expired\. Contact your helpdesk\./);
  assert.equal(refused.headers.get('location'), null, 'no redirect to the client with a code');
  assert.equal(browser.cookieHeader(app.url).includes('sg_session'), false, 'no SSO session');
});
