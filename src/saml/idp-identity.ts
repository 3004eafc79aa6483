import { createPrivateKey, type KeyObject } from 'node:crypto';
import type { Config } from '../config/schema.ts';
import type { LoadedKey, SigningKeys } from '../keys/signing-keys.ts';

export interface IdpEndpoints {
  entityId: string;
  /** SSO for both HTTP-Redirect and HTTP-POST. */
  sso: string;
  /** SLO for both bindings. */
  slo: string;
  /** Where the signed IdP metadata is served; also the entityID unless saml.entityId names another. */
  metadata: string;
  /** The IdP's own sign-out page, named where a request to sign out cannot be honoured. */
  logout: string;
}

export function idpEndpoints(config: Config): IdpEndpoints {
  const base = config.server.publicUrl;
  const metadata = `${base}/saml/metadata`;
  return { entityId: config.saml.entityId ?? metadata, sso: `${base}/saml/sso`, slo: `${base}/saml/slo`, metadata, logout: `${base}/logout` };
}

/** The RS256 key that signs now, in the shapes node:crypto (KeyObject) and ds:X509Certificate (base64 DER) want. */
export interface IdpSigner {
  keyId: string;
  /** Parsed once: re-parsing the PEM on every signature costs about a third of the signing time. */
  privateKey: KeyObject;
  /** Base64 DER without PEM armour, as it appears in ds:X509Certificate. */
  certificateBody: string;
}

/** Keyed by SigningKeys' own cached key objects, so a key rotation (new objects) yields a new signer. */
const signers = new WeakMap<LoadedKey, IdpSigner>();

export async function activeSigner(keys: SigningKeys): Promise<IdpSigner> {
  const key = await keys.active('RS256');
  let signer = signers.get(key);
  if (!signer) {
    if (!key.certificatePem) throw new Error(`signing key ${key.id} has no certificate; SAML needs one`);
    signer = { keyId: key.id, privateKey: createPrivateKey(key.privateKeyPem), certificateBody: certificateBody(key.certificatePem) };
    signers.set(key, signer);
  }
  return signer;
}

export function certificateBody(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
}
