import type { RequestedAuthnContext } from '../core/types.ts';
import type { KeyValue } from '../store/store.ts';
import { randomId } from '../core/ids.ts';
import type { NameIdFormatName } from './constants.ts';
import type { RequestedSubject } from './authn-request.ts';

const NAMESPACE = 'saml-pending';
/** As long as a login transaction lives. */
const LIFETIME_SECONDS = 15 * 60;

/** What the response needs once the sign-in is done; LoginRequest is protocol-neutral, so it waits here. */
export interface PendingSso {
  spId: string;
  /** The AuthnRequest ID; absent for IdP-initiated sign-in. */
  requestId?: string;
  acsUrl: string;
  relayState?: string;
  nameIdFormat: NameIdFormatName;
  requestedAuthnContext?: RequestedAuthnContext;
  /** The subject the AuthnRequest named: the assertion is issued only for it. */
  subject?: RequestedSubject;
}

/** Memory-only: short-lived, redone by the SP if lost, never a disk write per sign-in. */
export async function savePendingSso(kv: KeyValue, pending: PendingSso): Promise<string> {
  const id = randomId(18);
  await kv.set(NAMESPACE, id, pending, { ttlSeconds: LIFETIME_SECONDS, durable: false });
  return id;
}

export function takePendingSso(kv: KeyValue, id: string): Promise<PendingSso | undefined> {
  return kv.consume<PendingSso>(NAMESPACE, id);
}

/** The name the SAML finisher is registered under with the interaction. */
export const SAML_FINISHER = 'saml';
