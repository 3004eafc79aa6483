import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import type { KeyAlgorithm } from './signing-keys.ts';

const MIN_RSA_BITS = 2048;

/**
 * Why a private key (and its certificate) cannot sign for `alg`, or an empty list when it can. Keys
 * made here always pass; keys from elsewhere (an imported configuration) are checked before they
 * are stored, so a bad one is refused then rather than failing at the first sign-in.
 */
export function signingKeyProblems(alg: KeyAlgorithm, privateKeyPem: string, certificatePem: string | undefined): string[] {
  let key: KeyObject;
  try {
    key = createPrivateKey(privateKeyPem);
  } catch {
    return ['the private key is not a PEM private key'];
  }
  const details = key.asymmetricKeyDetails ?? {};
  const problems: string[] = [];
  if (alg === 'RS256' && (key.asymmetricKeyType !== 'rsa' || (details.modulusLength ?? 0) < MIN_RSA_BITS)) problems.push(`an RS256 key must be RSA with at least ${MIN_RSA_BITS} bits`);
  if (alg === 'ES256' && (key.asymmetricKeyType !== 'ec' || details.namedCurve !== 'prime256v1')) problems.push('an ES256 key must be EC on the P-256 curve');
  // SAML metadata publishes RS256 keys as certificates; ES256 keys are published in the JWKS only.
  if (alg === 'RS256' && certificatePem === undefined) problems.push('an RS256 key needs its certificate (SAML metadata publishes it)');
  if (certificatePem !== undefined) {
    try {
      if (!new X509Certificate(certificatePem).checkPrivateKey(key)) problems.push('the certificate is not for this private key');
    } catch {
      problems.push('the certificate is not a PEM certificate');
    }
  }
  return problems;
}
