import xpath from 'xpath';
import { AppError } from '../core/errors.ts';
import { ACCEPTED_DIGEST_ALGORITHMS, ACCEPTED_SIGNATURE_ALGORITHMS, ALGORITHM, NS } from './constants.ts';
import { algorithmRefused } from './signature-algorithms.ts';

const select = xpath.useNamespaces({ ds: NS.dsig });
const ALLOWED_TRANSFORMS: ReadonlySet<string> = new Set([ALGORITHM.envelopedSignature, ALGORITHM.excC14n]);

/**
 * As for a refused algorithm (signature-algorithms.ts), the page says what the SP's administrator must
 * change: such a signature may be sound (.NET's SignedXml signs with inclusive canonicalization unless
 * told otherwise), and "could not be verified" alone sends them looking for a wrong key.
 */
const FORM_REFUSED =
  "The application's sign-in request could not be verified as coming from it, so it was refused. The application signed its request in a form this sign-in service does not accept (its canonicalization or transforms). The application's administrator must sign with Exclusive XML Canonicalization (http://www.w3.org/2001/10/xml-exc-c14n#) and the enveloped-signature transform only, as SAML recommends.";

/**
 * Stepgate's own check that an enveloped XML signature covers exactly the element we go on to read.
 *
 * A cryptographically valid signature only proves that *some* element with the referenced ID was
 * signed; signature-wrapping attacks (GHSA-63ch-w8pw-4mf2, samlify#634) move that element and put an
 * unsigned one where the reader looks. So, independently of samlify/xml-crypto, we require: one
 * ds:Signature in the whole document, as a direct child of the root, with one Reference whose URI
 * is `#` + the root's ID, that ID unique in the document, and only enveloped-signature + exc-c14n
 * transforms, each at most once, with SHA-2 algorithms. Throws SAML_SIGNATURE_INVALID; returns the
 * ds:Signature.
 */
export function assertSignatureCoversRoot(doc: Document): Element {
  const root = doc.documentElement;
  const signatures = nodes<Element>('//ds:Signature', doc);
  if (signatures.length !== 1) fail('signature-count', { count: signatures.length });
  const signature = signatures[0]!;
  if (signature.parentNode !== root) fail('signature-not-child-of-root', { parent: (signature.parentNode as Element | null)?.localName });

  const rootId = root.getAttribute('ID');
  if (!rootId) fail('root-without-id');
  const ids = nodes<Attr>('//@ID | //@Id | //@id', doc).map((attr) => attr.value);
  if (ids.filter((id) => id === rootId).length !== 1 || new Set(ids).size !== ids.length) fail('duplicate-id');

  const references = nodes<Element>('.//ds:Reference', signature);
  if (references.length !== 1) fail('reference-count', { count: references.length });
  const reference = references[0]!;
  if (reference.parentNode !== first('./ds:SignedInfo', signature)) fail('reference-outside-signed-info');
  if (reference.getAttribute('URI') !== `#${rootId}`) fail('reference-not-root', { uri: reference.getAttribute('URI') });

  const transforms = nodes<Attr>('./ds:Transforms/ds:Transform/@Algorithm', reference).map((attr) => attr.value);
  // Each transform makes xml-crypto parse and canonicalise the whole message once more, before any key
  // is tried: exc-c14n listed 300 times in a 51 KB request held the server for 5.4 s. So each at most once.
  const repeated = new Set(transforms).size !== transforms.length;
  if (!transforms.includes(ALGORITHM.envelopedSignature) || transforms.some((algorithm) => !ALLOWED_TRANSFORMS.has(algorithm)) || repeated) {
    fail('transforms', { transforms: transforms.slice(0, 4), ...(transforms.length > 4 ? { transformCount: transforms.length } : {}) }, FORM_REFUSED);
  }

  const canonicalization = first('./ds:SignedInfo/ds:CanonicalizationMethod', signature)?.getAttribute('Algorithm');
  if (canonicalization !== ALGORITHM.excC14n) fail('canonicalization', { canonicalization }, FORM_REFUSED);
  const signatureMethod = first('./ds:SignedInfo/ds:SignatureMethod', signature)?.getAttribute('Algorithm') ?? '';
  if (!ACCEPTED_SIGNATURE_ALGORITHMS.has(signatureMethod)) throw algorithmRefused('signature-algorithm', signatureMethod, { signatureMethod });
  const digestMethod = first('./ds:DigestMethod', reference)?.getAttribute('Algorithm') ?? '';
  if (!ACCEPTED_DIGEST_ALGORITHMS.has(digestMethod)) throw algorithmRefused('digest-algorithm', digestMethod, { digestMethod });
  return signature;
}

/** True when the document carries any ds:Signature at all (a POST message that claims to be signed). */
export function hasSignatureElement(doc: Document): boolean {
  return nodes('//ds:Signature', doc).length > 0;
}

function nodes<T extends Node>(expression: string, context: Node): T[] {
  const result = select(expression, context);
  return Array.isArray(result) ? (result as T[]) : [];
}

function first(expression: string, context: Node): Element | undefined {
  return nodes<Element>(expression, context)[0];
}

function fail(reason: string, detail: Record<string, unknown> = {}, userMessage?: string): never {
  throw new AppError('SAML_SIGNATURE_INVALID', { ...(userMessage ? { userMessage } : {}), detail: { reason, ...detail } });
}
