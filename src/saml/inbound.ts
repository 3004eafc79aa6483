import type { Request } from 'express';
import type { Clock } from '../core/clock.ts';
import { AppError } from '../core/errors.ts';
import { MAX_RELAY_STATE_BYTES, NS, type BindingName } from './constants.ts';
import type { IdpEndpoints } from './idp-identity.ts';
import { publicKeyOf, readRedirectQuery, verifyRedirectSignature, type MessageParam } from './redirect-binding.ts';
import { SchemaViolation, type SamlSchemas } from './schema-validator.ts';
import { checkEnvelopedSignature } from './signature-algorithms.ts';
import { assertSignatureCoversRoot, hasSignatureElement } from './signature-shape.ts';
import type { SpRegistry } from './sp-registry.ts';
import type { ServiceProviderRecord } from './sp-types.ts';
import { decodeMessage, type InputLimits } from './xml-input.ts';
import { optionalChild, parseStrict, textOf, uriAttribute } from './xml-dom.ts';
import { instantAttribute } from './saml-time.ts';
import { noteClaimedIssuer, noteMessageKind, noteRegisteredIssuer, noteSignatureVerified } from './refusal-audit.ts';

/** What an SP sends us: requests, and the LogoutResponses that answer our own LogoutRequests. */
export type MessageKind = 'AuthnRequest' | 'LogoutRequest' | 'LogoutResponse';

export interface InboundDeps {
  limits: InputLimits & { clockSkewSeconds: number; requestMaxAgeSeconds: number; wantAuthnRequestsSigned: boolean };
  schemas: SamlSchemas;
  registry: SpRegistry;
  endpoints: IdpEndpoints;
  clock: Clock;
}

/** A message from a registered SP whose signature (if any, or if required) was verified. */
export interface InboundRequest {
  kind: MessageKind;
  binding: BindingName;
  /** The root element: the element the signature was shown to cover, and the only one read. */
  root: Element;
  id: string;
  sp: ServiceProviderRecord;
  signed: boolean;
  relayState?: string;
}

/**
 * Every check an inbound SP message passes before anything is written or any session is touched:
 * size, encoding, DOCTYPE, schema, message type, known issuer, signature, Destination and age.
 * A LogoutResponse passes the same checks as a request: the SP signs both with the same key, and
 * `requireSignedRequests` covers both.
 */
export async function readInboundRequest(req: Request, kind: MessageKind, binding: BindingName, deps: InboundDeps): Promise<InboundRequest> {
  noteMessageKind(req, kind);
  const param: MessageParam = kind === 'LogoutResponse' ? 'SAMLResponse' : 'SAMLRequest';
  const redirect = binding === 'redirect' ? readRedirectQuery(rawQuery(req), param) : undefined;
  const { message, relayState } = redirect ?? postParams(req, param);
  if (relayState !== undefined && Buffer.byteLength(relayState) > MAX_RELAY_STATE_BYTES) {
    throw new AppError('SAML_REQUEST_INVALID', { detail: { reason: 'relay-state-too-long', bytes: Buffer.byteLength(relayState) } });
  }
  const xml = decodeMessage(message, binding, deps.limits);
  try {
    deps.schemas.validateProtocol(xml);
  } catch (error) {
    if (error instanceof SchemaViolation) throw new AppError('SAML_REQUEST_INVALID', { detail: { reason: 'schema', message: error.message } });
    throw error;
  }
  const doc = parseStrict(xml);
  const root = doc.documentElement;
  if (root.namespaceURI !== NS.protocol || root.localName !== kind) throw new AppError('SAML_REQUEST_INVALID', { detail: { reason: 'unexpected-message', expected: kind, got: root.localName } });
  if (root.getAttribute('Version') !== '2.0') throw new AppError('SAML_REQUEST_INVALID', { detail: { reason: 'version', version: root.getAttribute('Version') } });

  const issuerElement = optionalChild(root, NS.assertion, 'Issuer');
  const issuer = textOf(issuerElement);
  if (!issuer) throw new AppError('SAML_REQUEST_INVALID', { detail: { reason: 'missing-issuer' } });
  noteClaimedIssuer(req, issuer);
  // saml-profiles §4.1.4.1, §4.4.4.1: an SP's Issuer is its entityID; any other Format names something else.
  const issuerFormat = uriAttribute(issuerElement!, 'Format');
  if (issuerFormat !== undefined && issuerFormat !== ENTITY_FORMAT) throw new AppError('SAML_REQUEST_INVALID', { detail: { reason: 'issuer-format', format: issuerFormat.slice(0, 200) } });
  const sp = await deps.registry.get(issuer);
  if (!sp) throw new AppError('RP_UNKNOWN', { detail: { protocol: 'saml', entityId: issuer.slice(0, 256) } });
  noteRegisteredIssuer(req);

  let signed: boolean;
  if (redirect) {
    // saml-bindings §3.4.4.1: a Redirect message carries its signature in the query, never in the XML.
    if (hasSignatureElement(doc)) throw new AppError('SAML_REQUEST_INVALID', { detail: { reason: 'embedded-signature-in-redirect-binding' } });
    signed = redirect.sigAlg !== undefined || redirect.signature !== undefined;
    if (signed) verifyRedirectSignature(redirect, signingCertificates(sp), sp.id);
  } else {
    signed = hasSignatureElement(doc);
    if (signed) verifyPostSignature(xml, doc, sp);
  }
  if (signed) noteSignatureVerified(req);
  // saml-profiles §4.4.4.1: over Redirect or POST a LogoutRequest MUST be signed, whatever the SP's
  // metadata says; unsigned, it is a plain link any site can make a browser follow to end its session.
  if (!signed && kind === 'LogoutRequest') {
    throw new AppError('SAML_SIGNATURE_INVALID', {
      userMessage: `The application asked to sign you out, but its request was not signed, so you are still signed in. To sign out, go to ${deps.endpoints.logout}.`,
      detail: { reason: 'unsigned-logout-request', sp: sp.id },
    });
  }
  if (!signed && (sp.settings.requireSignedRequests || (kind === 'AuthnRequest' && deps.limits.wantAuthnRequestsSigned))) {
    throw new AppError('SAML_SIGNATURE_INVALID', { detail: { reason: 'unsigned-request', sp: sp.id } });
  }

  checkDestination(root, signed, kind === 'AuthnRequest' ? deps.endpoints.sso : deps.endpoints.slo);
  checkIssueInstant(root, deps);
  return { kind, binding, root, id: root.getAttribute('ID')!, sp, signed, relayState };
}

const ENTITY_FORMAT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:entity';

/** The query string exactly as received: the Redirect signature covers the encoded bytes. */
export function rawQuery(req: Request): string {
  const index = req.originalUrl.indexOf('?');
  return index < 0 ? '' : req.originalUrl.slice(index + 1);
}

function postParams(req: Request, param: MessageParam): { message: string; relayState?: string } {
  const body = (req.body ?? {}) as Record<string, unknown>;
  const message = body[param];
  const relayState = body.RelayState;
  // A repeated field arrives as an array: which copy was meant is ambiguous, so neither is used.
  for (const [name, value] of [[param, message], ['RelayState', relayState]] as const) {
    if (Array.isArray(value)) throw new AppError('SAML_REQUEST_INVALID', { detail: { reason: 'duplicate-parameter', name } });
  }
  if (typeof message !== 'string' || !message) throw new AppError('SAML_REQUEST_INVALID', { detail: { reason: `missing-${param}` } });
  if (relayState !== undefined && typeof relayState !== 'string') throw new AppError('SAML_REQUEST_INVALID', { detail: { reason: 'malformed-RelayState' } });
  return { message, relayState };
}

/**
 * The keys a signature must verify with. Without one in the metadata there is nothing to trust: a
 * certificate inside the message's own KeyInfo proves only that someone signed it.
 */
function signingCertificates(sp: ServiceProviderRecord): string[] {
  if (sp.signingCertificates.length === 0) throw new AppError('SAML_SIGNATURE_INVALID', { detail: { reason: 'sp-has-no-signing-certificate', sp: sp.id } });
  return sp.signingCertificates.map((certificate) => certificate.pem);
}

/**
 * Our check pins the one signature to the root element and to accepted algorithms; xml-crypto then
 * checks its cryptography once, with any of the SP's signing certificates (two during its key
 * rollover), never with a certificate the message carries.
 */
function verifyPostSignature(xml: string, doc: Document, sp: ServiceProviderRecord): void {
  const certificates = signingCertificates(sp);
  const signature = assertSignatureCoversRoot(doc);
  const refusals: string[] = [];
  let verified = false;
  try {
    verified = checkEnvelopedSignature(xml, signature, certificates.map(publicKeyOf));
  } catch (error) {
    // A signature no key verifies throws too.
    refusals.push((error as Error).message.slice(0, 200));
  }
  if (!verified) throw new AppError('SAML_SIGNATURE_INVALID', { detail: { reason: 'signature-mismatch', sp: sp.id, refusals } });
}

/** saml-bindings §3.4.5.2/§3.5.5.2: a signed message must name us as Destination; an unsigned one may omit it. */
function checkDestination(root: Element, signed: boolean, expected: string): void {
  const destination = uriAttribute(root, 'Destination');
  if (destination === undefined ? signed : destination !== expected) {
    throw new AppError('SAML_REQUEST_INVALID', { detail: { reason: 'wrong-destination', destination, expected } });
  }
}

function checkIssueInstant(root: Element, deps: InboundDeps): void {
  // Required by the schema, which the message passed: never undefined here.
  const issuedAt = instantAttribute(root, 'IssueInstant')!;
  const now = deps.clock.now();
  const skewMs = deps.limits.clockSkewSeconds * 1000;
  if (issuedAt - now > skewMs) throw new AppError('SAML_REQUEST_INVALID', { detail: { reason: 'issue-instant-in-future', issueInstant: root.getAttribute('IssueInstant') } });
  if (now - issuedAt > deps.limits.requestMaxAgeSeconds * 1000 + skewMs) {
    throw new AppError('SAML_REQUEST_INVALID', { detail: { reason: 'request-expired', issueInstant: root.getAttribute('IssueInstant') } });
  }
}
