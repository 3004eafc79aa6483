import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { TestSp, isPasswordPage, samlPostForm, sendAuthnRequest } from '../helpers/saml-sp.ts';
import { authRequest, callbackOf, createRp, rpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';

/**
 * session.absoluteTimeoutHours ends an SSO session whatever its use: a browser that comes back
 * every 25 minutes (inside the 30-minute idle timeout) through silent sign-ins — SAML AuthnRequests
 * answered without a page, OIDC prompt=none — keeps its session until just before the absolute end
 * and must type the password again just after it. The sessions here are never idle, so only the
 * absolute lifetime (the session's own check and the store's expiry of it) can end them.
 */
const PASSWORD = 'Correct-horse-42';
const ABSOLUTE_HOURS = 2;
const USE_EVERY_MINUTES = 25;
let now = Date.now();
const clock = { now: () => now };
const minutes = (count: number) => void (now += count * 60_000);
let app: Booted;
let sp: TestSp;
let rp: TestRp;

before(async () => {
  // node-saml dates its AuthnRequests by the real clock, which falls behind Stepgate's as the tests move it on.
  app = await boot({ session: { idleTimeoutMinutes: 30, absoluteTimeoutHours: ABSOLUTE_HOURS }, saml: { requestMaxAgeSeconds: 6 * 3600 } }, { clock });
  await addLocalUser(app.services, 'alice', PASSWORD);
  sp = await TestSp.create(app, { name: 'r9-absolute' });
  rp = await createRp(app);
});
after(() => app?.close());

/**
 * Uses the browser every USE_EVERY_MINUTES from its sign-in (each use must be silent) up to
 * `lastUseMinutes` after it, then moves the clock to `lastUseMinutes` exactly and uses it once more.
 */
async function keepBusyUntil(lastUseMinutes: number, silentUse: (what: string) => Promise<void>): Promise<void> {
  let elapsed = 0;
  while (elapsed + USE_EVERY_MINUTES < lastUseMinutes) {
    minutes(USE_EVERY_MINUTES);
    elapsed += USE_EVERY_MINUTES;
    await silentUse(`${elapsed} min after the sign-in`);
  }
  minutes(lastUseMinutes - elapsed);
  await silentUse(`${lastUseMinutes} min after the sign-in, a minute before its absolute end`);
}

test('SAML: a browser that sends silent AuthnRequests every 25 minutes keeps its session until just before absoluteTimeoutHours, then must sign in again', async () => {
  const browser = new TestBrowser();
  const first = await sendAuthnRequest(browser, sp);
  assert.ok(isPasswordPage(first), `the first AuthnRequest asks for the password, got ${first.status} ${first.url}`);
  samlPostForm(await browser.submit(first, { username: 'alice', password: PASSWORD }));

  await keepBusyUntil(ABSOLUTE_HOURS * 60 - 1, async (when) => {
    const page = await sendAuthnRequest(browser, sp);
    assert.ok(!isPasswordPage(page), `${when}: answered without the password page`);
    assert.ok(samlPostForm(page).fields.SAMLResponse, `${when}: a SAMLResponse`);
  });

  minutes(2); // a minute past the absolute end; the last use was two minutes ago
  const after = await sendAuthnRequest(browser, sp);
  assert.ok(isPasswordPage(after), `a minute past absoluteTimeoutHours the password is asked again, got ${after.status} ${after.url}`);
  assert.doesNotMatch(after.body, /name="SAMLResponse"/, 'no assertion from the ended session');
});

test('OIDC: a browser that comes back with prompt=none every 25 minutes keeps its session until just before absoluteTimeoutHours, then gets login_required', async () => {
  const browser = rpBrowser();
  await signIn(rp, browser, { username: 'alice', password: PASSWORD });
  const silentError = async (): Promise<string | null> => {
    const silent = await authRequest(rp, { prompt: 'none' });
    return callbackOf(rp, await browser.get(silent.url.toString())).searchParams.get('error');
  };

  await keepBusyUntil(ABSOLUTE_HOURS * 60 - 1, async (when) => {
    assert.equal(await silentError(), null, `${when}: prompt=none is answered with a code`);
  });

  minutes(2);
  assert.equal(await silentError(), 'login_required', 'a minute past absoluteTimeoutHours, prompt=none is refused');
  const interactive = await authRequest(rp);
  assert.ok(isPasswordPage(await browser.get(interactive.url.toString())), 'and an ordinary request asks for the password');
});
