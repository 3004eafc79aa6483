/** The XML Encryption algorithms an assertion is encrypted with for one SP. */
export interface EncryptionAlgorithms {
  data: string;
  key: string;
}

const AES256_GCM = 'http://www.w3.org/2009/xmlenc11#aes256-gcm';
const AES128_GCM = 'http://www.w3.org/2009/xmlenc11#aes128-gcm';
const AES256_CBC = 'http://www.w3.org/2001/04/xmlenc#aes256-cbc';
const AES128_CBC = 'http://www.w3.org/2001/04/xmlenc#aes128-cbc';
const RSA_OAEP_MGF1P = 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p';

/** Best first. GCM before CBC: CBC in XML Encryption is open to padding-oracle attacks, so it is used only for an SP that lists nothing better. */
const DATA_ALGORITHMS = [AES256_GCM, AES128_GCM, AES256_CBC, AES128_CBC];
/** RSA-OAEP only: RSA 1.5 key transport is open to Bleichenbacher-style attacks (and xml-encryption refuses it by default). */
const KEY_ALGORITHMS = [RSA_OAEP_MGF1P];
const CBC = new Set([AES256_CBC, AES128_CBC]);

export const DEFAULT_ENCRYPTION: EncryptionAlgorithms = { data: AES256_GCM, key: RSA_OAEP_MGF1P };

export type EncryptionChoice = { ok: true; algorithms: EncryptionAlgorithms; warning?: string } | { ok: false; problem: string };

/**
 * The algorithms for an SP from the EncryptionMethod elements of its encryption KeyDescriptor
 * (saml-metadata §2.4.1.1: the algorithms it supports). None listed: the SP states no limit, and
 * gets the best. A kind it lists none of we support cannot be used: the SP could not decrypt.
 */
export function chooseEncryption(listed: readonly string[] = []): EncryptionChoice {
  if (listed.length === 0) return { ok: true, algorithms: DEFAULT_ENCRYPTION };
  const offered = new Set(listed);
  const listsData = listed.some((algorithm) => isDataAlgorithm(algorithm));
  const listsKey = listed.some((algorithm) => !isDataAlgorithm(algorithm));
  const data = listsData ? DATA_ALGORITHMS.find((algorithm) => offered.has(algorithm)) : DEFAULT_ENCRYPTION.data;
  const key = listsKey ? KEY_ALGORITHMS.find((algorithm) => offered.has(algorithm)) : DEFAULT_ENCRYPTION.key;
  const dataListed = listed.filter((algorithm) => isDataAlgorithm(algorithm));
  const keyListed = listed.filter((algorithm) => !isDataAlgorithm(algorithm));
  if (!data) return { ok: false, problem: `its metadata lists only data encryption algorithms Stepgate does not use (${dataListed.join(', ')}); it uses ${DATA_ALGORITHMS.join(', ')}` };
  if (!key) return { ok: false, problem: `its metadata lists only key transport algorithms Stepgate does not use (${keyListed.join(', ')}); it uses ${KEY_ALGORITHMS.join(', ')} only (not RSA 1.5, which is breakable; the XML Encryption 1.1 rsa-oaep identifier is not supported by the encryption library)` };
  const warning = CBC.has(data) ? `assertions are encrypted with ${data}, the best the SP lists; CBC is weaker than GCM (padding oracles): enable AES-GCM at the SP if it can` : undefined;
  return { ok: true, algorithms: { data, key }, ...(warning ? { warning } : {}) };
}

/** Block ciphers name a key size or a mode; key transport names rsa. */
function isDataAlgorithm(algorithm: string): boolean {
  return /#(aes|tripledes|camellia|seed)/i.test(algorithm);
}

/** For the administrator: "aes256-gcm, rsa-oaep-mgf1p". */
export function describeEncryption(listed?: readonly string[]): string {
  const choice = chooseEncryption(listed);
  return choice.ok ? [choice.algorithms.data, choice.algorithms.key].map((algorithm) => algorithm.split('#').pop()).join(', ') : 'none the SP supports';
}
