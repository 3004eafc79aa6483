import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { createRp, createUser, rpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';
import { TestSp, isPasswordPage, samlPostForm, sendAuthnRequest } from '../helpers/saml-sp.ts';

/**
 * Directory values no relying party is given (attrs finding 5): an email not shaped like an address,
 * control characters in a name or a group. OIDC leaves them out as SAML leaves out what XML cannot
 * carry, with a warning; an email with spaces around it is neither the email claim, nor the mail
 * attribute, nor an emailAddress NameID. Users written as an LDAP directory could hold them, past
 * the local-user checks.
 */
const PASSWORD = 'correct horse 42';
const MAIL = 'urn:oid:0.9.2342.19200300.100.1.3';
const DISPLAY_NAME = 'urn:oid:2.16.840.1.113730.3.1.241';
const IS_MEMBER_OF = 'urn:oid:1.3.6.1.4.1.5923.1.5.1.1';

let app: Booted;
let rp: TestRp;
let emailSp: TestSp;
let persistentSp: TestSp;

before(async () => {
  app = await boot();
  rp = await createRp(app);
  [emailSp, persistentSp] = await Promise.all([
    TestSp.create(app, { name: 'email-nameid', identifierFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress' }),
    TestSp.create(app, { name: 'persistent-nameid' }),
  ]);
  await createUser(app, { username: 'ctl', password: PASSWORD, name: 'nul\u0000x', email: 'a\u0000b@example.org', groups: ['ok', 'ctl\u0001grp', 'c1\u0085grp'] });
  await createUser(app, { username: 'ws', password: PASSWORD, name: 'White Space', email: ' ws@example.org ', groups: ['staff'] });
});
after(() => app?.close());

const leftOutWarnings = (since: number) => app.logs.slice(since).filter((line) => line.level === 40 && line.code === 'OIDC_CLAIM_VALUE_LEFT_OUT');

test('OIDC leaves out a name, an email and groups holding control characters, in the ID Token and at userinfo, with one warning naming the claims', async () => {
  const since = app.logs.length;
  const { tokens, claims } = await signIn(rp, rpBrowser(), { username: 'ctl', password: PASSWORD });
  const userinfo = await oidc.fetchUserInfo(rp.config, tokens.access_token, claims.sub);
  for (const released of [claims, userinfo] as Array<Record<string, unknown>>) {
    assert.equal(released.preferred_username, 'ctl');
    assert.equal(released.name, undefined);
    assert.equal(released.email, undefined);
    assert.equal(released.email_verified, undefined);
    assert.deepEqual(released.groups, ['ok']);
  }
  const warnings = leftOutWarnings(since);
  assert.equal(warnings.length, 1, 'once, for the ID Token; userinfo answers leave the same values out without a word');
  assert.deepEqual(warnings[0]!.claims, ['name', 'email', 'groups']);
  assert.equal(warnings[0]!.clientId, rp.client.id);
  assert.equal(warnings[0]!.userId, claims.sub);
});

test('an email with spaces around it is not the email claim', async () => {
  const since = app.logs.length;
  const { tokens, claims } = await signIn(rp, rpBrowser(), { username: 'ws', password: PASSWORD });
  assert.equal(claims.email, undefined);
  assert.equal(claims.name, 'White Space');
  assert.equal((await oidc.fetchUserInfo(rp.config, tokens.access_token, claims.sub)).email, undefined);
  assert.deepEqual(leftOutWarnings(since).map((line) => line.claims), [['email']]);
});

async function samlResponseFor(sp: TestSp, username: string): Promise<string> {
  const browser = new TestBrowser();
  const page = await sendAuthnRequest(browser, sp);
  assert.ok(isPasswordPage(page));
  return samlPostForm(await browser.submit(page, { username, password: PASSWORD })).fields.SAMLResponse!;
}

test('nor an emailAddress NameID (the SP gets InvalidNameIDPolicy), nor the mail attribute', async () => {
  const xml = Buffer.from(await samlResponseFor(emailSp, 'ws'), 'base64').toString('utf8');
  assert.match(xml, /<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy">/);
  assert.doesNotMatch(xml, /saml:Assertion|ws@example\.org/);

  const { profile } = await persistentSp.validate(await samlResponseFor(persistentSp, 'ws'));
  assert.equal(profile?.[MAIL], undefined);
  assert.equal(profile?.[DISPLAY_NAME], 'White Space');
});

test('SAML leaves out the same values as OIDC, C1 controls too, with its own warning', async () => {
  const since = app.logs.length;
  const { profile } = await persistentSp.validate(await samlResponseFor(persistentSp, 'ctl'));
  assert.equal(profile?.[MAIL], undefined);
  assert.equal(profile?.[DISPLAY_NAME], undefined);
  assert.equal(profile?.[IS_MEMBER_OF], 'ok');
  const warned = app.logs.slice(since).filter((line) => line.level === 40 && line.code === 'SAML_ATTRIBUTE_VALUE_UNREPRESENTABLE');
  assert.deepEqual(warned.map((line) => line.attributes), [['mail', 'displayName', 'isMemberOf']]);
});
