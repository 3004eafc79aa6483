import { createHash } from 'node:crypto';
import type { KeyValue } from '../store/store.ts';
import { AppError } from '../core/errors.ts';
import type { InboundRequest } from './inbound.ts';

const NAMESPACE = 'saml-request-id';
const SIGN_IN_NAMESPACE = 'saml-request-sign-in';
/** As long as the sign-in transaction it names lives. */
const SIGN_IN_LIFETIME_SECONDS = 15 * 60;

type ReplayLimits = { requestMaxAgeSeconds: number; clockSkewSeconds: number };

/**
 * Remembers a message ID (a request's, or a LogoutResponse's) until the message would be refused as
 * too old anyway, so a captured message cannot be played again. Durable: a restart must not reopen the window. Called only once every
 * other check passed, so refused input writes nothing.
 */
export async function rememberRequestId(kv: KeyValue, request: InboundRequest, limits: ReplayLimits): Promise<void> {
  if (!(await isFirstSight(kv, request, limits))) throw replayedRequest(request);
}

/** As rememberRequestId, for a caller that has an answer of its own to a message seen before. */
export function isFirstSight(kv: KeyValue, request: InboundRequest, limits: ReplayLimits): Promise<boolean> {
  // A message issued clockSkewSeconds ahead is accepted until requestMaxAgeSeconds + clockSkewSeconds
  // after that; the marker outlives that last moment by a second (an entry has expired when its end is reached).
  const ttlSeconds = limits.requestMaxAgeSeconds + 2 * limits.clockSkewSeconds + 1;
  return kv.compareAndSet(NAMESPACE, requestKey(request), undefined, { kind: request.kind }, { ttlSeconds });
}

export function replayedRequest(request: InboundRequest): AppError {
  return new AppError('SAML_REQUEST_INVALID', { detail: { reason: 'replayed', kind: request.kind, sp: request.sp.id } });
}

/**
 * What an AuthnRequest that opened a sign-in leaves behind: the sign-in, so that the browser it belongs
 * to can be sent back to it when it sends the request again (Back); and who sent the request and
 * whether its signature was verified, which the same-site step of a POST (resumeSso) cannot read
 * again but must audit when it refuses. Memory only: losing it only means that browser is refused as
 * any replay is.
 */
export interface OpenedSignIn {
  txId: string;
  sp: string;
  signed: boolean;
}

export async function rememberSignIn(kv: KeyValue, request: InboundRequest, txId: string): Promise<void> {
  const opened: OpenedSignIn = { txId, sp: request.sp.id, signed: request.signed };
  await kv.set(SIGN_IN_NAMESPACE, requestKey(request), opened, { ttlSeconds: SIGN_IN_LIFETIME_SECONDS, durable: false });
}

export function signInOpenedBy(kv: KeyValue, request: InboundRequest): Promise<OpenedSignIn | undefined> {
  return signInOpenedByKey(kv, requestKey(request));
}

/** The same, by the request's key (requestKey), for the same-site GET a cross-site POST is sent on to. */
export function signInOpenedByKey(kv: KeyValue, key: string): Promise<OpenedSignIn | undefined> {
  return kv.get<OpenedSignIn>(SIGN_IN_NAMESPACE, key);
}

/** Hashed: IDs are SP-chosen strings of any length; the key stays short and the issuer scopes it. */
export function requestKey(request: InboundRequest): string {
  return createHash('sha256').update(request.sp.id).update('\0').update(request.id).digest('base64url');
}
