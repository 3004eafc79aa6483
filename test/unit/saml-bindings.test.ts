import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { decodeMessage } from '../../src/saml/xml-input.ts';
import { readRedirectQuery, signedRedirectUrl, verifyRedirectSignature } from '../../src/saml/redirect-binding.ts';
import { AppError } from '../../src/core/errors.ts';

const LIMITS = { maxRequestBytes: 64 * 1024, maxInflatedBytes: 256 * 1024 };
const XML = '<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_1"/>';
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';

function refusal(code: string, reason?: string) {
  return (error: unknown) => error instanceof AppError && error.code === code && (reason === undefined || error.detail?.reason === reason);
}

describe('binding decoding: sizes, base64, DEFLATE, UTF-8, DOCTYPE', () => {
  const deflated = (text: string) => deflateRawSync(Buffer.from(text)).toString('base64');

  test('POST is plain base64 (line-wrapped accepted); Redirect is DEFLATE + base64', () => {
    const base64 = Buffer.from(XML).toString('base64');
    assert.equal(decodeMessage(base64, 'post', LIMITS), XML);
    assert.equal(decodeMessage(base64.replace(/(.{20})/g, '$1\r\n'), 'post', LIMITS), XML);
    assert.equal(decodeMessage(deflated(XML), 'redirect', LIMITS), XML);
  });

  test('refusals', () => {
    assert.throws(() => decodeMessage('A'.repeat(90_000), 'post', LIMITS), refusal('REQUEST_TOO_LARGE', 'saml-message-too-large'));
    assert.throws(() => decodeMessage('abc$', 'post', LIMITS), refusal('SAML_REQUEST_INVALID', 'malformed-base64'));
    assert.throws(() => decodeMessage('abc', 'post', LIMITS), refusal('SAML_REQUEST_INVALID', 'malformed-base64'));
    assert.throws(() => decodeMessage(Buffer.from(XML).toString('base64'), 'redirect', LIMITS), refusal('SAML_REQUEST_INVALID', 'malformed-deflate'));
    assert.throws(() => decodeMessage(Buffer.from([0xc3, 0x28]).toString('base64'), 'post', LIMITS), refusal('SAML_REQUEST_INVALID', 'not-utf8'));
    assert.throws(() => decodeMessage(Buffer.from(`<!DOCTYPE x>${XML}`).toString('base64'), 'post', LIMITS), refusal('SAML_REQUEST_INVALID', 'doctype-or-entity'));
    assert.throws(() => decodeMessage(Buffer.from(`<!ENTITY x "y">`).toString('base64'), 'post', LIMITS), refusal('SAML_REQUEST_INVALID', 'doctype-or-entity'));
  });

  test('a DEFLATE bomb stops at maxInflatedBytes without inflating the rest', () => {
    const bomb = deflateRawSync(Buffer.alloc(32 * 1024 * 1024, 0x20)).toString('base64');
    assert.ok(bomb.length < 60_000, `${bomb.length}`);
    const started = performance.now();
    assert.throws(() => decodeMessage(bomb, 'redirect', { ...LIMITS, maxRequestBytes: 1024 * 1024 }), refusal('REQUEST_TOO_LARGE', 'inflated-message-too-large'));
    assert.ok(performance.now() - started < 1_000);
  });
});

describe('HTTP-Redirect query and detached signatures', () => {
  const current = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const next = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = (key: typeof current) => key.publicKey.export({ type: 'spki', format: 'pem' }).toString();

  /** As an SP would build it, with its own (lower-case hex) percent-encoding. */
  function spQuery(key: typeof current, relayState?: string): string {
    const lower = (value: string) => encodeURIComponent(value).replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase());
    const parts = [`SAMLRequest=${lower(deflateRawSync(Buffer.from(XML)).toString('base64'))}`, ...(relayState ? [`RelayState=${lower(relayState)}`] : []), `SigAlg=${lower(RSA_SHA256)}`];
    const octets = parts.join('&');
    return `${octets}&Signature=${encodeURIComponent(sign('sha256', Buffer.from(octets), key.privateKey).toString('base64'))}`;
  }

  test('verifies over the raw encoded parameters, with either certificate during a rollover', () => {
    const query = readRedirectQuery(spQuery(next, 'back/to?x=1'), 'SAMLRequest');
    assert.equal(query.relayState, 'back/to?x=1');
    verifyRedirectSignature(query, [pem(current), pem(next)], 'https://sp.example/metadata');
    assert.throws(() => verifyRedirectSignature(query, [pem(current)], 'https://sp.example/metadata'), refusal('SAML_SIGNATURE_INVALID', 'redirect-signature-mismatch'));
    assert.throws(() => verifyRedirectSignature(query, [pem(current)], 'https://sp.example/metadata'), (error: unknown) => error instanceof AppError && error.detail?.sp === 'https://sp.example/metadata', 'the log line names the SP whose certificate did not verify');
  });

  test('refuses a changed RelayState, SHA-1, duplicate parameters, a missing message', () => {
    const tampered = spQuery(current, 'a').replace('RelayState=a', 'RelayState=b');
    assert.throws(() => verifyRedirectSignature(readRedirectQuery(tampered, 'SAMLRequest'), [pem(current)], 'https://sp.example/metadata'), refusal('SAML_SIGNATURE_INVALID', 'redirect-signature-mismatch'));
    const sha1 = spQuery(current).replace(encodeURIComponent(RSA_SHA256).toLowerCase(), encodeURIComponent('http://www.w3.org/2000/09/xmldsig#rsa-sha1'));
    assert.throws(() => verifyRedirectSignature(readRedirectQuery(sha1, 'SAMLRequest'), [pem(current)], 'https://sp.example/metadata'), refusal('SAML_SIGNATURE_INVALID', 'signature-algorithm'));
    assert.throws(() => readRedirectQuery(`${spQuery(current)}&SAMLRequest=x`, 'SAMLRequest'), refusal('SAML_REQUEST_INVALID', 'duplicate-parameter'));
    assert.throws(() => readRedirectQuery('RelayState=x', 'SAMLRequest'), refusal('SAML_REQUEST_INVALID', 'missing-SAMLRequest'));
    assert.throws(() => readRedirectQuery(`${spQuery(current)}&SAMLEncoding=urn%3Aexample%3Aother`, 'SAMLRequest'), refusal('SAML_REQUEST_INVALID', 'unsupported-encoding'));
    assert.equal(readRedirectQuery(`${spQuery(current)}&SAMLEncoding=${encodeURIComponent('urn:oasis:names:tc:SAML:2.0:bindings:URL-Encoding:DEFLATE')}`, 'SAMLRequest').sigAlg, RSA_SHA256, 'DEFLATE named explicitly is the default');
    assert.throws(() => readRedirectQuery('SAMLRequest=%E0%A4%A', 'SAMLRequest'), refusal('SAML_REQUEST_INVALID', 'malformed-url-encoding'));
  });

  test('outbound URLs are signed so that the receiver can verify them', async () => {
    const url = new URL(await signedRedirectUrl('https://sp.test/slo?existing=1', 'SAMLResponse', XML, 'rs', current.privateKey));
    assert.equal(url.searchParams.get('existing'), '1');
    const query = readRedirectQuery(url.search.slice(1), 'SAMLResponse');
    verifyRedirectSignature(query, [pem(current)], 'https://sp.example/metadata');
    assert.equal(inflateRawSync(Buffer.from(query.message, 'base64')).toString(), XML);
  });
});
