import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { TestSp, isPasswordPage, samlPostForm, sendAuthnRequest } from '../helpers/saml-sp.ts';
import type { StoredAuditEvent } from '../../src/store/store.ts';

const PASSWORD = 'Correct-horse-42';
const PROTOCOL = 'urn:oasis:names:tc:SAML:2.0:protocol';
const STATUS = 'urn:oasis:names:tc:SAML:2.0:status:';

describe('SAML refusals and error Responses are audited', () => {
  let app: Booted;
  let signing: TestSp;
  let plain: TestSp;
  let closed: TestSp;
  let nextIp = 1;

  before(async () => {
    app = await boot({ server: { trustedProxies: ['127.0.0.1/32'] } });
    await addLocalUser(app.services, 'alice', PASSWORD);
    await addLocalUser(app.services, 'bob', PASSWORD);
    [signing, plain, closed] = await Promise.all([
      TestSp.create(app, { name: 'audit-signing' }),
      TestSp.create(app, { name: 'audit-plain', signRequests: false }),
      TestSp.create(app, { name: 'audit-closed', register: { policy: 'deny-everyone' } }),
    ]);
  });
  after(() => app.close());

  /** A browser whose requests come from an address of their own (through the trusted proxy), so each probe's events are told apart. */
  function client(): { browser: TestBrowser; ip: string; get: (url: string) => Promise<Page>; post: (url: string, fields: Record<string, string>) => Promise<Page>; submit: (page: Page, values?: Record<string, string>, match?: string) => Promise<Page> } {
    const browser = new TestBrowser();
    const ip = `203.0.113.${nextIp++}`;
    const headers = { 'x-forwarded-for': ip };
    return {
      browser,
      ip,
      get: (url) => browser.get(url, { headers }),
      post: (url, fields) => browser.request(url, { method: 'POST', body: new URLSearchParams(fields), headers }),
      submit: (page, values = {}, match) => browser.submit(page, values, match, headers),
    };
  }

  async function eventsFrom(ip: string): Promise<StoredAuditEvent[]> {
    return (await app.services.store.audit.query({ ip, limit: 100 })).events;
  }

  /** The one saml.request failure of a refused request, checked against its error page (status, reference). */
  async function refusal(ip: string, page: Page, status = 400): Promise<StoredAuditEvent> {
    assert.equal(page.status, status, page.body.slice(0, 300));
    assert.doesNotMatch(page.body, /name="SAMLResponse"/);
    const events = await eventsFrom(ip);
    assert.equal(events.length, 1, JSON.stringify(events));
    const [event] = events as [StoredAuditEvent];
    assert.equal(event.type, 'saml.request');
    assert.equal(event.outcome, 'failure');
    assert.equal(event.requestId, page.headers.get('x-request-id'), 'the reference on the error page finds the event');
    return event;
  }

  function authnRequestXml(options: { issuer: string; protocolBinding?: string; subject?: string }): string {
    const binding = options.protocolBinding ? ` ProtocolBinding="${options.protocolBinding}"` : '';
    const subject = options.subject ? `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">${options.subject}</saml:NameID></saml:Subject>` : '';
    return `<samlp:AuthnRequest xmlns:samlp="${PROTOCOL}" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_${randomUUID()}" Version="2.0" IssueInstant="${new Date().toISOString()}" Destination="${app.url}/saml/sso"${binding}><saml:Issuer>${options.issuer}</saml:Issuer>${subject}</samlp:AuthnRequest>`;
  }
  const redirectUrl = (xml: string, extra = '') => `${app.url}/saml/sso?SAMLRequest=${encodeURIComponent(deflateRawSync(Buffer.from(xml)).toString('base64'))}${extra}`;

  describe('saml.request: every request refused with an error page', () => {
    test('a forged signature: the claimed issuer is recorded as not verified', async () => {
      const { ip, get } = client();
      const url = (await signing.authnRequest('state')).url.replace('RelayState=state', 'RelayState=other');
      const event = await refusal(ip, await get(url));
      assert.deepEqual(
        { code: event.code, reason: event.reason, kind: event.kind, issuer: event.issuer, issuerVerified: event.issuerVerified, rp: event.rp, ip: event.ip, path: event.path },
        { code: 'SAML_SIGNATURE_INVALID', reason: 'redirect-signature-mismatch', kind: 'AuthnRequest', issuer: signing.entityId, issuerVerified: false, rp: signing.entityId, ip, path: '/saml/sso' },
      );
      assert.doesNotMatch(JSON.stringify(event), /SAMLRequest|Signature=|other|state/, 'nothing of the message itself');
    });

    test('an unsigned request where a signature is required', async () => {
      const { ip, get } = client();
      const event = await refusal(ip, await get(redirectUrl(authnRequestXml({ issuer: signing.entityId }))));
      assert.deepEqual([event.code, event.reason, event.issuer, event.issuerVerified], ['SAML_SIGNATURE_INVALID', 'unsigned-request', signing.entityId, false]);
    });

    test('an unregistered ACS in a verified request: the issuer is verified', async () => {
      const { ip, get } = client();
      const event = await refusal(ip, await get((await signing.authnRequest('', { callbackUrl: 'https://evil.example/acs' })).url));
      assert.deepEqual([event.code, event.reason, event.issuer, event.issuerVerified, event.rp], ['ACS_NOT_REGISTERED', 'acs-not-registered', signing.entityId, true, signing.entityId]);
      assert.doesNotMatch(JSON.stringify(event), /evil\.example/);
    });

    test('a replayed request, from another browser', async () => {
      const { url } = await signing.authnRequest();
      const first = client();
      assert.ok(isPasswordPage(await first.get(url)));
      assert.deepEqual(await eventsFrom(first.ip), [], 'an accepted request writes no refusal');
      const { ip, get } = client();
      const event = await refusal(ip, await get(url));
      assert.deepEqual([event.code, event.reason, event.issuer, event.issuerVerified, event.path], ['SAML_REQUEST_INVALID', 'replayed', signing.entityId, true, '/saml/sso/resume']);
    });

    test('a replayed request, from another browser with a sign-in of its own', async () => {
      const { url } = await signing.authnRequest();
      const first = client();
      assert.ok(isPasswordPage(await first.get(url)));
      const { ip, get } = client();
      assert.ok(isPasswordPage(await get((await plain.authnRequest()).url)), 'this browser has its own sign-in, and so its binding cookie');
      const event = await refusal(ip, await get(url));
      assert.deepEqual([event.code, event.reason, event.issuer, event.issuerVerified, event.path], ['SAML_REQUEST_INVALID', 'replayed', signing.entityId, true, '/saml/sso']);
    });

    test('an unknown SP: the claimed issuer (bounded), no rp', async () => {
      const { ip, get } = client();
      const event = await refusal(ip, await get(redirectUrl(authnRequestXml({ issuer: 'https://ghost.example/sp' }))));
      assert.deepEqual([event.code, event.reason, event.issuer, event.issuerVerified, event.rp], ['RP_UNKNOWN', 'rp-unknown', 'https://ghost.example/sp', false, undefined]);

      const long = `https://ghost.example/${'x'.repeat(5000)}`;
      const other = client();
      const bounded = await refusal(other.ip, await other.get(redirectUrl(authnRequestXml({ issuer: long }))));
      assert.equal(bounded.issuer, long.slice(0, 256));
    });

    test('IdP-initiated for an unknown SP', async () => {
      const { ip, get } = client();
      const event = await refusal(ip, await get(`${app.url}/saml/idp-init?sp=${encodeURIComponent('https://ghost.example/sp')}`));
      assert.deepEqual([event.code, event.issuer, event.issuerVerified, event.idpInitiated, event.path], ['RP_UNKNOWN', 'https://ghost.example/sp', false, true, '/saml/idp-init']);
    });

    test('malformed input: no issuer was read', async () => {
      const { ip, get, post } = client();
      const event = await refusal(ip, await get(`${app.url}/saml/sso?SAMLRequest=${encodeURIComponent('!!not base64!!')}`));
      assert.deepEqual([event.code, event.reason, event.issuer], ['SAML_REQUEST_INVALID', 'malformed-base64', undefined]);
      await post(`${app.url}/saml/sso`, { SAMLRequest: Buffer.from('<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"').toString('base64') });
      const schema = (await eventsFrom(ip))[1]!;
      assert.deepEqual([schema.type, schema.code, schema.reason], ['saml.request', 'SAML_REQUEST_INVALID', 'schema']);
      assert.equal(schema.message, undefined, "the schema validator's text quotes the message: not kept");
    });

    test('an unsigned LogoutRequest', async () => {
      const { ip, get } = client();
      const xml = `<samlp:LogoutRequest xmlns:samlp="${PROTOCOL}" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_${randomUUID()}" Version="2.0" IssueInstant="${new Date().toISOString()}"><saml:Issuer>${plain.entityId}</saml:Issuer><saml:NameID>n</saml:NameID></samlp:LogoutRequest>`;
      const event = await refusal(ip, await get(`${app.url}/saml/slo?SAMLRequest=${encodeURIComponent(deflateRawSync(Buffer.from(xml)).toString('base64'))}`));
      assert.deepEqual([event.code, event.reason, event.kind, event.issuer, event.issuerVerified, event.path], ['SAML_SIGNATURE_INVALID', 'unsigned-logout-request', 'LogoutRequest', plain.entityId, false, '/saml/slo']);
    });
  });

  describe('saml.sso failure: every error Response sent to an SP', () => {
    /** The saml.sso failure for `ip`, checked against the Response the browser carries. */
    async function statusEvent(ip: string, page: Page, top: string, second: string): Promise<StoredAuditEvent> {
      const xml = Buffer.from(samlPostForm(page).fields.SAMLResponse!, 'base64').toString('utf8');
      assert.match(xml, new RegExp(`StatusCode Value="${STATUS}${second}"`));
      const events = (await eventsFrom(ip)).filter((event) => event.type === 'saml.sso');
      assert.equal(events.length, 1, JSON.stringify(events));
      const [event] = events as [StoredAuditEvent];
      assert.deepEqual([event.outcome, event.status, event.subStatus, event.ip], ['failure', STATUS + top, STATUS + second, ip]);
      assert.equal(event.requestId, page.headers.get('x-request-id'));
      return event;
    }

    test('NoPassive', async () => {
      const c = client();
      const page = await c.get((await signing.authnRequest('', { passive: true })).url);
      const event = await statusEvent(c.ip, page, 'Responder', 'NoPassive');
      assert.deepEqual([event.rp, event.reason, event.userId, event.idpInitiated], [signing.entityId, 'login_required', undefined, false]);
    });

    test('InvalidNameIDPolicy', async () => {
      const c = client();
      const page = await c.get((await signing.authnRequest('', { identifierFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName' })).url);
      assert.equal((await statusEvent(c.ip, page, 'Requester', 'InvalidNameIDPolicy')).reason, 'nameid-policy');
    });

    test('NoAuthnContext', async () => {
      const c = client();
      const page = await c.get((await signing.authnRequest('', { authnContext: ['urn:example:ac:retina-scan'] })).url);
      assert.equal((await statusEvent(c.ip, page, 'Responder', 'NoAuthnContext')).reason, 'authn-context-unsupported');
    });

    test('UnsupportedBinding', async () => {
      const c = client();
      const page = await c.get(redirectUrl(authnRequestXml({ issuer: plain.entityId, protocolBinding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact' })));
      assert.equal((await statusEvent(c.ip, page, 'Requester', 'UnsupportedBinding')).reason, 'unsupported-binding');
    });

    test('RequestDenied by the access policy', async () => {
      const c = client();
      const form = await sendAuthnRequest(c.browser, closed);
      const denied = await c.submit(form, { username: 'alice', password: PASSWORD });
      assert.equal(denied.status, 403);
      const page = await c.get(new URL(/href="([^"]*\/back)"/.exec(denied.body)![1]!, app.url).toString());
      const event = await statusEvent(c.ip, page, 'Responder', 'RequestDenied');
      assert.deepEqual([event.rp, event.reason], [closed.entityId, 'access_denied']);
    });

    test('AuthnFailed when the user cancels', async () => {
      const c = client();
      const page = await c.submit(await sendAuthnRequest(c.browser, signing), {}, '/cancel');
      assert.equal((await statusEvent(c.ip, page, 'Responder', 'AuthnFailed')).reason, 'cancelled');
    });

    test('UnknownPrincipal, with the user who signed in', async () => {
      const c = client();
      const form = await c.get(redirectUrl(authnRequestXml({ issuer: plain.entityId, subject: 'bob@example.org' })));
      const page = await c.submit(form, { username: 'alice', password: PASSWORD });
      const event = await statusEvent(c.ip, page, 'Responder', 'UnknownPrincipal');
      assert.deepEqual([event.rp, event.reason, event.username, typeof event.userId], [plain.entityId, 'subject-mismatch', 'alice', 'string']);
      // Back to the sign-in's page: the SP was sent an error, not alice's sign-in, so it is not "complete".
      const back = await c.get(form.url);
      assert.match(form.url, /\/login\/[^/]+$/);
      assert.match(back.body, /<h1>Sign-in finished<\/h1>/);
      assert.doesNotMatch(back.body, /is complete|You are signed in/);
    });
  });
});
