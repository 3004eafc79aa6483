import { inflateRawSync } from 'node:zlib';
import { AppError } from '../core/errors.ts';
import type { BindingName } from './constants.ts';

export interface InputLimits {
  /** Largest decoded message accepted; checked on the encoded length, before anything is decoded. */
  maxRequestBytes: number;
  /** Largest inflated Redirect-binding message; inflation stops there (DEFLATE bombs). */
  maxInflatedBytes: number;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/**
 * A SAML message declares a handful of namespaces. Thousands make XML parsers do work that grows with
 * declarations times elements (xmldom before 0.8.15 took 9 s for a 185 KB message), before any
 * issuer or signature is checked: refused, counted on the text, before it is parsed.
 */
const MAX_NAMESPACE_DECLARATIONS = 64;
const NAMESPACE_DECLARATION = /\sxmlns(?::[^\s=>]*)?\s*=/g;
/**
 * A SAML message has tens of elements; a signed one with a certificate and an Extensions block a
 * hundred or so. Parsing costs time per element, comment and processing instruction, and empty ones
 * deflate to almost nothing: 64,000 empty elements in an 860-byte Redirect URL took 130–175 ms of
 * the event loop (schema check and parse) before the issuer was even looked up, so seven such
 * requests a second from one address kept every sign-in waiting. Counted on the text (every `<`,
 * which XML allows unescaped only in markup and CDATA), before it is parsed.
 */
const MAX_MARKUP = 2_000;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The longest base64 text of a message within maxRequestBytes (3 bytes become 4 characters), with 4 characters of slack. */
function maxEncodedLength(maxRequestBytes: number): number {
  return Math.ceil(maxRequestBytes / 3) * 4 + 4;
}

/**
 * The largest form body Stepgate reads: a POST-binding message of maxRequestBytes as browsers send
 * it, plus 8 KiB for RelayState and the field names. A browser writes each "+", "/" and "=" of the
 * base64 as three characters ("%2B"); in real messages (XML, certificates, signatures) they are a few
 * in a hundred, so a tenth more than the base64 text covers them. The worst case, a message built of
 * nothing but those characters, would need three times the text, and every connection may hold a
 * body that large until it is refused (10,000 connections: 2.9 GB at that size against about 1 GB
 * at this one): such a message near the limit is refused with 413 instead.
 */
export function maxPostBindingFormBytes(maxRequestBytes: number): number {
  return Math.ceil(maxEncodedLength(maxRequestBytes) * 1.1) + 8 * 1024;
}

/**
 * Turns a SAMLRequest/SAMLResponse parameter into XML text, refusing anything oversized, not strict
 * base64, not UTF-8, a DEFLATE bomb, or carrying a DOCTYPE/ENTITY declaration (XXE, billion laughs).
 */
export function decodeMessage(encoded: string, binding: BindingName, limits: InputLimits): string {
  // Refused by length before any work is spent on it.
  if (encoded.length > maxEncodedLength(limits.maxRequestBytes)) {
    throw new AppError('REQUEST_TOO_LARGE', { detail: { reason: 'saml-message-too-large', encodedLength: encoded.length, maxRequestBytes: limits.maxRequestBytes } });
  }
  const compact = encoded.replace(/[\r\n\t ]/g, ''); // some SPs line-wrap base64 in POST forms
  if (compact.length === 0 || compact.length % 4 !== 0 || !BASE64.test(compact)) {
    throw new AppError('SAML_REQUEST_INVALID', { detail: { reason: 'malformed-base64' } });
  }
  const bytes = Buffer.from(compact, 'base64');
  if (binding === 'redirect') return refuseMarkupFlood(refuseNamespaceFlood(refuseDoctype(utf8(inflateBounded(bytes, limits.maxInflatedBytes)))));
  return refuseMarkupFlood(refuseNamespaceFlood(refuseDoctype(utf8(bytes, () => deflatedOnPost(bytes, limits.maxInflatedBytes)))));
}

/**
 * The page says what the SP's administrator must change; the first sentence is the catalogue's, so
 * a sign-out refusal is reworded like any other (slo-refusal.ts).
 */
const DEFLATED_ON_POST =
  'The application sent a sign-in request that is not valid, so it was refused. The application compressed its request (DEFLATE), which is done only for requests sent by redirect (HTTP-Redirect binding), not for requests posted in a form (HTTP-POST binding). The application\'s administrator must send it uncompressed, or by redirect.';

/**
 * An SP that DEFLATEs its POST-binding message (the Redirect binding's encoding, applied to the wrong
 * binding) was logged as "not-utf8", which sent its administrator looking for a character set problem.
 * Tried only on a message already refused as not UTF-8, and bounded as a Redirect message is.
 */
function deflatedOnPost(bytes: Buffer, maxInflatedBytes: number): AppError | undefined {
  let xml: string;
  try {
    xml = UTF8.decode(inflateRawSync(bytes, { maxOutputLength: maxInflatedBytes }));
  } catch {
    return undefined;
  }
  if (!xml.trimStart().startsWith('<')) return undefined;
  return new AppError('SAML_REQUEST_INVALID', { userMessage: DEFLATED_ON_POST, detail: { reason: 'deflated-on-post-binding' } });
}

function refuseNamespaceFlood(xml: string): string {
  let declarations = 0;
  for (NAMESPACE_DECLARATION.lastIndex = 0; NAMESPACE_DECLARATION.exec(xml) !== null; ) {
    if (++declarations > MAX_NAMESPACE_DECLARATIONS) throw new AppError('SAML_REQUEST_INVALID', { detail: { reason: 'too-many-namespace-declarations', max: MAX_NAMESPACE_DECLARATIONS } });
  }
  return xml;
}

function refuseMarkupFlood(xml: string): string {
  let markup = 0;
  for (let at = xml.indexOf('<'); at !== -1; at = xml.indexOf('<', at + 1)) {
    if (++markup > MAX_MARKUP) throw new AppError('SAML_REQUEST_INVALID', { detail: { reason: 'too-much-markup', max: MAX_MARKUP } });
  }
  return xml;
}

function inflateBounded(bytes: Buffer, maxInflatedBytes: number): Buffer {
  try {
    // maxOutputLength makes zlib stop (and throw) at the cap instead of allocating whatever the input expands to.
    return inflateRawSync(bytes, { maxOutputLength: maxInflatedBytes });
  } catch (error) {
    const tooLarge = (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
    throw new AppError(tooLarge ? 'REQUEST_TOO_LARGE' : 'SAML_REQUEST_INVALID', {
      detail: { reason: tooLarge ? 'inflated-message-too-large' : 'malformed-deflate', maxInflatedBytes },
    });
  }
}

/** `why`: a more telling refusal for bytes that are not UTF-8, when there is one. */
function utf8(bytes: Buffer, why?: () => AppError | undefined): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw why?.() ?? new AppError('SAML_REQUEST_INVALID', { detail: { reason: 'not-utf8' } });
  }
}

/** SAML messages never need a DTD; refusing the declaration outright closes every entity-based attack. */
function refuseDoctype(xml: string): string {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new AppError('SAML_REQUEST_INVALID', { detail: { reason: 'doctype-or-entity' } });
  return xml;
}
