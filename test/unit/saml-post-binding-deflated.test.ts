import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateRawSync } from 'node:zlib';
import { decodeMessage } from '../../src/saml/xml-input.ts';
import { refusedLogoutRequest } from '../../src/saml/slo-refusal.ts';
import { AppError, ERROR_CATALOGUE } from '../../src/core/errors.ts';

const LIMITS = { maxRequestBytes: 64 * 1024, maxInflatedBytes: 256 * 1024 };
const XML = '<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_1" Version="2.0"/>';

function refusedWith(encoded: string): AppError {
  try {
    decodeMessage(encoded, 'post', LIMITS);
  } catch (error) {
    assert.ok(error instanceof AppError, String(error));
    return error;
  }
  assert.fail('the message was accepted');
}

test('a DEFLATEd message on the POST binding is refused as such, with what the SP must change on the page', () => {
  const error = refusedWith(deflateRawSync(Buffer.from(XML)).toString('base64'));
  assert.equal(error.code, 'SAML_REQUEST_INVALID');
  assert.equal(error.detail?.reason, 'deflated-on-post-binding');
  assert.ok(error.userMessage.startsWith(ERROR_CATALOGUE.SAML_REQUEST_INVALID.message.split('. ')[0]), error.userMessage);
  assert.match(error.userMessage, /compressed its request \(DEFLATE\).*HTTP-POST binding.*administrator must send it uncompressed, or by redirect/);
});

test('a DEFLATEd LogoutRequest on the POST binding keeps that advice on the sign-out page', () => {
  const reworded = refusedLogoutRequest(refusedWith(deflateRawSync(Buffer.from(XML)).toString('base64')), 'https://idp.example/logout');
  assert.ok(reworded instanceof AppError);
  assert.match(reworded.userMessage, /^The application sent a sign-out request that is not valid, so it was refused\. The application compressed its request/);
  assert.equal(reworded.detail?.reason, 'deflated-on-post-binding');
});

test('bytes that are neither UTF-8 nor DEFLATEd XML are still refused as not UTF-8', () => {
  // Inflates, but to text that is not XML.
  const deflatedText = deflateRawSync(Buffer.from('\xff\xfe not a SAML message', 'latin1')).toString('base64');
  assert.equal(refusedWith(deflatedText).detail?.reason, 'not-utf8');
  assert.equal(refusedWith(Buffer.from([0xc3, 0x28]).toString('base64')).detail?.reason, 'not-utf8');
  // Inflates past maxInflatedBytes: inflation stops there, as on the Redirect binding.
  const bomb = deflateRawSync(Buffer.concat([Buffer.from(XML), Buffer.alloc(1024 * 1024, 0x20)])).toString('base64');
  assert.equal(refusedWith(bomb).detail?.reason, 'not-utf8');
});
