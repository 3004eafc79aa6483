import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { TestSp, isPasswordPage, samlPostForm, sendAuthnRequest } from '../helpers/saml-sp.ts';
import { createRp, rpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';

/**
 * No session fixation: every sign-in starts its SSO session under a new random id, whatever
 * session cookie the browser brought — its own from an earlier sign-in (a re-authentication), one
 * planted from someone else's sign-in, or a made-up value. The cookie's old value then names no
 * session, so whoever knew it (planted it) holds nothing.
 */
const PASSWORD = 'Correct-horse-42';
let app: Booted;
let sp: TestSp;
let rp: TestRp;
let host: string;

before(async () => {
  app = await boot();
  host = new URL(app.url).host;
  await addLocalUser(app.services, 'alice', PASSWORD);
  await addLocalUser(app.services, 'mallory', PASSWORD);
  sp = await TestSp.create(app, { name: 'r9-fixation' });
  rp = await createRp(app);
});
after(() => app?.close());

const sessionCookie = (browser: TestBrowser): string | undefined => browser.cookies.get(host)?.get('sg_session');

function browserWithCookie(value: string, make: () => TestBrowser = () => new TestBrowser()): TestBrowser {
  const browser = make();
  browser.cookies.set(host, new Map([['sg_session', value]]));
  return browser;
}

async function samlSignIn(browser: TestBrowser, username: string, overrides: { forceAuthn?: boolean } = {}): Promise<void> {
  const page = await sendAuthnRequest(browser, sp, '', overrides);
  assert.ok(isPasswordPage(page), `the password page for ${username}, got ${page.status} ${page.url}`);
  samlPostForm(await browser.submit(page, { username, password: PASSWORD }));
}

/** What a browser holding only `cookie` gets from the SP's AuthnRequest: asked for a password, or signed in as someone. */
async function whatTheCookieGives(cookie: string): Promise<string> {
  const page = await sendAuthnRequest(browserWithCookie(cookie), sp);
  if (isPasswordPage(page)) return 'password page';
  const xml = Buffer.from(samlPostForm(page).fields.SAMLResponse!, 'base64').toString('utf8');
  return `signed in as ${/<saml:Attribute\b[^>]*FriendlyName="uid"[^>]*>\s*<saml:AttributeValue\b[^>]*>([^<]*)</.exec(xml)?.[1] ?? 'someone'}`;
}

test('a re-authentication (SAML ForceAuthn) replaces the session cookie with a new id; the old value names no session', async () => {
  const browser = new TestBrowser();
  await samlSignIn(browser, 'alice');
  const first = sessionCookie(browser)!;
  assert.ok(first, 'signed in: a session cookie');

  await samlSignIn(browser, 'alice', { forceAuthn: true });
  const second = sessionCookie(browser)!;
  assert.ok(second);
  assert.notEqual(second, first, 'the re-authentication started its session under a new id');
  assert.equal(await app.services.sessions.byId(first), undefined, 'the old id is no session');
  assert.equal(await whatTheCookieGives(first), 'password page', 'a browser with the old cookie value is not signed in');
  assert.equal(await whatTheCookieGives(second), 'signed in as alice', 'the new one is');
});

test("a session cookie planted from another user's sign-in: the victim's sign-in (OIDC prompt=login) gets a new id, the planter's browser gets nothing", async () => {
  const mallorys = rpBrowser();
  await signIn(rp, mallorys, { username: 'mallory', password: PASSWORD });
  const planted = sessionCookie(mallorys)!;
  assert.ok(planted, "mallory's own session cookie");

  const victim = browserWithCookie(planted, rpBrowser);
  const { claims } = await signIn(rp, victim, { username: 'alice', password: PASSWORD }, { prompt: 'login' });
  assert.equal(claims.preferred_username, 'alice');
  const victims = sessionCookie(victim);
  assert.ok(victims, "the victim's session cookie");
  assert.notEqual(victims, planted, "alice's session is not under the planted id");
  assert.equal(await app.services.sessions.byId(planted), undefined, 'the planted id names no session now');
  assert.equal(await whatTheCookieGives(planted), 'password page', "mallory's browser does not hold alice's sign-in");
});

test('a made-up session cookie is not taken as the id of the session a sign-in starts', async () => {
  const made = randomBytes(32).toString('base64url');
  const browser = browserWithCookie(made);
  await samlSignIn(browser, 'alice');
  const started = sessionCookie(browser);
  assert.ok(started);
  assert.notEqual(started, made);
  assert.equal(await app.services.sessions.byId(made), undefined);
  assert.equal(await whatTheCookieGives(made), 'password page');
});
