import { createHash, verify, type BinaryLike, type KeyLike } from 'node:crypto';
import { SignedXml, type ErrorFirstCallback, type HashAlgorithm, type SignatureAlgorithm } from 'xml-crypto';
import { AppError } from '../core/errors.ts';
import { ACCEPTED_DIGEST_ALGORITHMS, ACCEPTED_SIGNATURE_ALGORITHMS, SHA1_ALGORITHMS } from './constants.ts';

/**
 * The page says what the SP's administrator must change: the signature itself may be sound, and
 * "could not be verified" alone sends them looking for a wrong key. The first sentence is the
 * catalogue's (SAML_SIGNATURE_INVALID), so every signature refusal reads alike.
 */
const SHA1_REFUSED =
  'The application\'s sign-in request could not be verified as coming from it, so it was refused. The application signed its request with SHA-1, which this sign-in service refuses: SHA-1 is no longer safe for signatures. The application\'s administrator must switch its request signing to RSA-SHA256 (RSA-SHA384 and RSA-SHA512 are accepted too).';
const ALGORITHM_REFUSED =
  'The application\'s sign-in request could not be verified as coming from it, so it was refused. The application signed its request with an algorithm this sign-in service does not accept. The application\'s administrator must switch its request signing to RSA-SHA256, RSA-SHA384 or RSA-SHA512.';

/** The refusal of a signature or digest algorithm outside ACCEPTED_*_ALGORITHMS. */
export function algorithmRefused(reason: 'signature-algorithm' | 'digest-algorithm', algorithm: string | undefined, detail: Record<string, unknown>): AppError {
  // Without an algorithm (a Redirect Signature with no SigAlg) there is nothing to advise switching from.
  const userMessage = algorithm === undefined || algorithm === '' ? undefined : SHA1_ALGORITHMS.has(algorithm) ? SHA1_REFUSED : ALGORITHM_REFUSED;
  return new AppError('SAML_SIGNATURE_INVALID', { ...(userMessage ? { userMessage } : {}), detail: { reason, ...detail } });
}

/**
 * Checks an enveloped signature's cryptography with xml-crypto, knowing only the accepted algorithms:
 * xml-crypto has no RSA-SHA384, and its defaults would take SHA-1. The keys are the ones given, never
 * one from the signature's KeyInfo (xml-crypto's default getCertFromKeyInfo reads none). Throws
 * xml-crypto's error when the signature does not verify with any of them.
 *
 * One check for all the keys: xml-crypto parses, canonicalises and digests the whole message before
 * it looks at the key (about 0.3 s for a 64 KB message of small elements), so a check per key let
 * one refused request to an SP listing 150 signing certificates hold the server for 40 s.
 */
export function checkEnvelopedSignature(xml: string, signature: Element, publicKeys: readonly KeyLike[]): boolean {
  // xml-crypto wants a key of its own; the verifier below tries every one of publicKeys instead.
  const verifier = new SignedXml({ publicCert: publicKeys[0] });
  verifier.SignatureAlgorithms = Object.fromEntries([...ACCEPTED_SIGNATURE_ALGORITHMS].map(([uri, hash]) => [uri, rsaVerifier(uri, hash, publicKeys)]));
  verifier.HashAlgorithms = Object.fromEntries([...ACCEPTED_DIGEST_ALGORITHMS].map(([uri, hash]) => [uri, digester(uri, hash)]));
  verifier.loadSignature(signature);
  return verifier.checkSignature(xml);
}

function rsaVerifier(uri: string, hash: string, publicKeys: readonly KeyLike[]): new () => SignatureAlgorithm {
  return class RsaPkcs1Verifier implements SignatureAlgorithm {
    getSignature(signedInfo: BinaryLike, privateKey: KeyLike): string;
    getSignature(signedInfo: BinaryLike, privateKey: KeyLike, callback?: ErrorFirstCallback<string>): void;
    getSignature(): string | void {
      throw new Error('verifies only');
    }

    verifySignature(material: string, key: KeyLike, signatureValue: string): boolean;
    verifySignature(material: string, key: KeyLike, signatureValue: string, callback?: ErrorFirstCallback<boolean>): void;
    verifySignature(material: string, _key: KeyLike, signatureValue: string): boolean | void {
      const signed = Buffer.from(material, 'utf8');
      const signature = Buffer.from(signatureValue, 'base64');
      return publicKeys.some((key) => verify(hash, signed, key, signature));
    }

    getAlgorithmName(): string {
      return uri;
    }
  };
}

function digester(uri: string, hash: string): new () => HashAlgorithm {
  return class Digester implements HashAlgorithm {
    getHash(xml: string): string {
      return createHash(hash).update(xml, 'utf8').digest('base64');
    }

    getAlgorithmName(): string {
      return uri;
    }
  };
}
