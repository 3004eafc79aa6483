import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { signSamlPost } from '@node-saml/node-saml/lib/saml-post-signing.js';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { TestSp, isPasswordPage } from '../helpers/saml-sp.ts';

/**
 * saml-core §1.3.3: SAML times are UTC. A time without a zone designator (valid xs:dateTime) must
 * mean the same instant whatever the server's TZ: read in the host's zone, the same message was
 * accepted in one place and refused in another, and an expired LogoutRequest lived hours longer
 * west of UTC. Node reads process.env.TZ anew when it is set, so the server in this process moves
 * between zones as the tests set it.
 */

const PROTOCOL = 'urn:oasis:names:tc:SAML:2.0:protocol';
const ZONES = ['America/New_York', 'Asia/Kolkata'];
/** An xs:dateTime with UTC's digits and no zone designator. */
const withoutZone = (at: number) => new Date(at).toISOString().replace(/\.\d+Z$/, '');

describe('SAML times without a zone are UTC, whatever the server TZ', () => {
  let app: Booted;
  let plain: TestSp;
  let signing: TestSp;
  const originalTz = process.env.TZ;

  before(async () => {
    app = await boot({ saml: { clockSkewSeconds: 120, requestMaxAgeSeconds: 300 } });
    [plain, signing] = await Promise.all([TestSp.create(app, { name: 'tz-plain', signRequests: false }), TestSp.create(app, { name: 'tz-signing', binding: 'post' })]);
  });
  after(async () => {
    process.env.TZ = originalTz;
    await app.close();
  });

  function inZone(zone: string): void {
    process.env.TZ = zone;
    assert.notEqual(new Date().getTimezoneOffset(), 0, `${zone} is not UTC for this process`);
  }

  const lastRefusalReason = (logsBefore: number) => (app.logs.slice(logsBefore).find((entry) => entry.code === 'SAML_REQUEST_INVALID')?.detail as { reason?: string } | undefined)?.reason;

  async function sendAuthnRequest(issueInstant: string) {
    const xml = `<samlp:AuthnRequest xmlns:samlp="${PROTOCOL}" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_${randomUUID()}" Version="2.0" IssueInstant="${issueInstant}" Destination="${app.url}/saml/sso"><saml:Issuer>${plain.entityId}</saml:Issuer></samlp:AuthnRequest>`;
    const logsBefore = app.logs.length;
    const page = await new TestBrowser().get(`${app.url}/saml/sso?SAMLRequest=${encodeURIComponent(deflateRawSync(Buffer.from(xml)).toString('base64'))}`);
    return { page, refusal: lastRefusalReason(logsBefore) };
  }

  /** A signed LogoutRequest over POST: accepted, it is answered with a 303 to the step that ends the session. */
  async function sendLogoutRequest(notOnOrAfter: string) {
    const xml = `<samlp:LogoutRequest xmlns:samlp="${PROTOCOL}" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_${randomUUID()}" Version="2.0" IssueInstant="${new Date().toISOString()}" NotOnOrAfter="${notOnOrAfter}" Destination="${app.url}/saml/slo"><saml:Issuer>${signing.entityId}</saml:Issuer><saml:NameID>nobody</saml:NameID></samlp:LogoutRequest>`;
    const signed = signSamlPost(xml, '/*[local-name(.)="LogoutRequest"]', { privateKey: signing.keyPem, publicCert: signing.certPem, signatureAlgorithm: 'sha256', digestAlgorithm: 'sha256' });
    const logsBefore = app.logs.length;
    const page = await new TestBrowser().request(`${app.url}/saml/slo`, { method: 'POST', body: new URLSearchParams({ SAMLRequest: Buffer.from(signed).toString('base64') }), followRedirects: false });
    return { accepted: page.status === 303, refusal: lastRefusalReason(logsBefore) };
  }

  test('an AuthnRequest issued now without a zone is accepted; one 10 minutes ahead is refused as future-dated', async () => {
    for (const zone of ZONES) {
      inZone(zone);
      const now = await sendAuthnRequest(withoutZone(Date.now()));
      assert.ok(isPasswordPage(now.page), `${zone}: issued now: ${now.page.status} ${now.refusal}`);
      assert.equal((await sendAuthnRequest(withoutZone(Date.now() + 10 * 60_000))).refusal, 'issue-instant-in-future', zone);
      assert.equal((await sendAuthnRequest(withoutZone(Date.now() - 10 * 60_000))).refusal, 'request-expired', zone);
    }
  });

  test('a LogoutRequest whose NotOnOrAfter without a zone passed 3 minutes ago is refused; one 10 minutes ahead is accepted', async () => {
    for (const zone of ZONES) {
      inZone(zone);
      assert.deepEqual(await sendLogoutRequest(withoutZone(Date.now() - 3 * 60_000)), { accepted: false, refusal: 'logout-request-expired' }, zone);
      assert.deepEqual(await sendLogoutRequest(withoutZone(Date.now() + 10 * 60_000)), { accepted: true, refusal: undefined }, zone);
    }
  });

  test('times with a zone keep their offset; whitespace after one is collapsed, as the schema reads it', async () => {
    inZone('America/New_York');
    const fiveHoursBehind = new Date(Date.now() - 5 * 3600_000).toISOString().replace('Z', '-05:00');
    assert.ok(isPasswordPage((await sendAuthnRequest(fiveHoursBehind)).page), 'the same instant written at -05:00');
    // The schema check lets a space after a zone through (libxml2 refuses one before the value, or after a value without zone).
    const trailing = await sendAuthnRequest(`${new Date().toISOString()} `);
    assert.ok(isPasswordPage(trailing.page), `trailing space collapsed: ${trailing.refusal}`);
    assert.equal((await sendLogoutRequest(new Date(Date.now() - 3 * 60_000).toISOString())).refusal, 'logout-request-expired');
  });
});
