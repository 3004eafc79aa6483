import { createHash } from 'node:crypto';
import type { KeyValue } from '../store/store.ts';
import { AppError } from '../core/errors.ts';
import type { InboundRequest } from './inbound.ts';

const NAMESPACE = 'saml-request-id';

/**
 * Remembers a message ID (a request's, or a LogoutResponse's) until the message would be refused as
 * too old anyway, so a captured message cannot be played again. Durable: a restart must not reopen the window. Called only once every
 * other check passed, so refused input writes nothing.
 */
export async function rememberRequestId(kv: KeyValue, request: InboundRequest, limits: { requestMaxAgeSeconds: number; clockSkewSeconds: number }): Promise<void> {
  // Hashed: IDs are SP-chosen strings of any length; the key stays short and the issuer scopes it.
  const key = createHash('sha256').update(request.sp.id).update('\0').update(request.id).digest('base64url');
  const ttlSeconds = limits.requestMaxAgeSeconds + 2 * limits.clockSkewSeconds;
  const fresh = await kv.compareAndSet(NAMESPACE, key, undefined, { kind: request.kind }, { ttlSeconds });
  if (!fresh) throw new AppError('SAML_REQUEST_INVALID', { detail: { reason: 'replayed', kind: request.kind, sp: request.sp.id } });
}
