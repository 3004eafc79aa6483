import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { AppError } from '../core/errors.ts';
import { BoundedMap } from '../core/bounded-map.ts';
import { ACCEPTED_SIGNATURE_ALGORITHMS, ALGORITHM } from './constants.ts';
import { rsaSha256 } from './canonical-signature.ts';
import { algorithmRefused } from './signature-algorithms.ts';

export type MessageParam = 'SAMLRequest' | 'SAMLResponse';

export interface RedirectQuery {
  message: string;
  relayState?: string;
  sigAlg?: string;
  signature?: string;
  /** What the sender signed: the parameters exactly as they appear on the wire (saml-bindings §3.4.4.1). */
  signedOctets?: string;
}

const NAMES = ['SAMLRequest', 'SAMLResponse', 'RelayState', 'SigAlg', 'Signature', 'SAMLEncoding'] as const;
/** The one encoding saml-bindings §3.4.4.1 defines, and the default when the parameter is absent. */
const DEFLATE_ENCODING = 'urn:oasis:names:tc:SAML:2.0:bindings:URL-Encoding:DEFLATE';

/**
 * Reads the HTTP-Redirect parameters from the raw query string. The signature covers the still
 * URL-encoded values, and the sender's own encoding may differ from ours, so they are kept raw.
 */
export function readRedirectQuery(rawQuery: string, param: MessageParam): RedirectQuery {
  const raw = new Map<string, string>();
  for (const part of rawQuery.split('&')) {
    const index = part.indexOf('=');
    const name = index < 0 ? part : part.slice(0, index);
    if (!(NAMES as readonly string[]).includes(name)) continue;
    if (raw.has(name)) throw new AppError('SAML_REQUEST_INVALID', { detail: { reason: 'duplicate-parameter', name } });
    raw.set(name, index < 0 ? '' : part.slice(index + 1));
  }
  const value = (name: string) => (raw.has(name) ? formDecode(raw.get(name)!) : undefined);
  const message = value(param);
  if (!message) throw new AppError('SAML_REQUEST_INVALID', { detail: { reason: `missing-${param}` } });
  const encoding = value('SAMLEncoding');
  if (encoding !== undefined && encoding !== DEFLATE_ENCODING) throw new AppError('SAML_REQUEST_INVALID', { detail: { reason: 'unsupported-encoding', encoding: encoding.slice(0, 200) } });
  const sigAlg = raw.get('SigAlg');
  const signedOctets = sigAlg === undefined ? undefined : [`${param}=${raw.get(param)}`, ...(raw.has('RelayState') ? [`RelayState=${raw.get('RelayState')}`] : []), `SigAlg=${sigAlg}`].join('&');
  return { message, relayState: value('RelayState'), sigAlg: value('SigAlg'), signature: value('Signature'), signedOctets };
}

/** Verifies the detached signature against any of the SP's signing certificates (two during their key rollover). */
export function verifyRedirectSignature(query: RedirectQuery, certificatesPem: readonly string[], spId: string): void {
  const hash = query.sigAlg ? ACCEPTED_SIGNATURE_ALGORITHMS.get(query.sigAlg) : undefined;
  if (!hash) throw algorithmRefused('signature-algorithm', query.sigAlg, { sigAlg: query.sigAlg, sp: spId });
  if (!query.signature || !/^[A-Za-z0-9+/]+={0,2}$/.test(query.signature) || !query.signedOctets) {
    throw new AppError('SAML_SIGNATURE_INVALID', { detail: { reason: 'malformed-signature', sp: spId } });
  }
  const signature = Buffer.from(query.signature, 'base64');
  const octets = Buffer.from(query.signedOctets, 'utf8');
  const ok = certificatesPem.some((pem) => verify(hash, octets, publicKeyOf(pem), signature));
  if (!ok) throw new AppError('SAML_SIGNATURE_INVALID', { detail: { reason: 'redirect-signature-mismatch', sp: spId } });
}

/** SP certificates parsed once (about 0.15 ms each), not per request; a changed certificate is a new PEM, hence a new key. */
const publicKeys = new BoundedMap<string, KeyObject>(1000);

export function publicKeyOf(pem: string): KeyObject {
  let key = publicKeys.get(pem);
  if (!key) {
    key = createPublicKey(pem);
    publicKeys.set(pem, key);
  }
  return key;
}

/** Builds a signed HTTP-Redirect URL for an outbound message (rsa-sha256). */
export async function signedRedirectUrl(location: string, param: MessageParam, xml: string, relayState: string | undefined, privateKey: KeyObject): Promise<string> {
  const parts = [`${param}=${encodeURIComponent(deflateRawSync(Buffer.from(xml, 'utf8')).toString('base64'))}`];
  if (relayState) parts.push(`RelayState=${encodeURIComponent(relayState)}`);
  parts.push(`SigAlg=${encodeURIComponent(ALGORITHM.rsaSha256)}`);
  const octets = parts.join('&');
  const signature = (await rsaSha256(Buffer.from(octets, 'utf8'), privateKey)).toString('base64');
  return `${location}${location.includes('?') ? '&' : '?'}${octets}&Signature=${encodeURIComponent(signature)}`;
}

function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    throw new AppError('SAML_REQUEST_INVALID', { detail: { reason: 'malformed-url-encoding' } });
  }
}
