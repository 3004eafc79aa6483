import { DOMParser } from '@xmldom/xmldom';
import { AppError, type ErrorCode } from '../core/errors.ts';
import { trimXmlWhitespace } from './xml-whitespace.ts';

const ELEMENT_NODE = 1;

/**
 * Parses with @xmldom/xmldom, treating every parser warning as fatal: a document the parser had to
 * "repair" can be read differently by the signature library than by us.
 */
export function parseStrict(xml: string, code: ErrorCode = 'SAML_REQUEST_INVALID'): Document {
  const fail = (message: string) => {
    throw new AppError(code, { detail: { reason: 'xml-parse', message: String(message).slice(0, 200) } });
  };
  const doc = new DOMParser({ errorHandler: { warning: fail, error: fail, fatalError: fail } }).parseFromString(xml, 'text/xml');
  if (!doc?.documentElement) fail('no root element');
  return doc as unknown as Document;
}

export function elementChildren(parent: Element, ns: string, localName: string): Element[] {
  const found: Element[] = [];
  for (let node = parent.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === ELEMENT_NODE && (node as Element).namespaceURI === ns && (node as Element).localName === localName) found.push(node as Element);
  }
  return found;
}

/** The only child of that name, undefined when absent; two of them is a malformed message. */
export function optionalChild(parent: Element, ns: string, localName: string): Element | undefined {
  const found = elementChildren(parent, ns, localName);
  if (found.length > 1) throw new AppError('SAML_REQUEST_INVALID', { detail: { reason: 'duplicate-element', element: localName } });
  return found[0];
}

/**
 * An element's text without XML's white space at its edges. Only XML's four characters: String#trim
 * would also take a no-break or ideographic space, which are part of a name such as an Issuer.
 */
export function textOf(element: Element | undefined): string | undefined {
  const content = element?.textContent;
  const text = content ? trimXmlWhitespace(content) : undefined;
  return text ? text : undefined;
}

export function attribute(element: Element, name: string): string | undefined {
  return element.hasAttribute(name) ? element.getAttribute(name)! : undefined;
}

/** How a malformed value is refused: by default as a malformed SAML message; metadata says it to the administrator. */
export type Refusal = (problem: string) => never;

const malformedMessage: Refusal = (problem) => {
  throw new AppError('SAML_REQUEST_INVALID', { detail: { reason: 'malformed-attribute', problem: problem.slice(0, 300) } });
};

/**
 * An xs:boolean attribute, false when absent. The schema collapses whitespace before reading the
 * value, so " true" is true: comparing the raw text would quietly turn a requested ForceAuthn or
 * AuthnRequestsSigned into false.
 */
export function booleanAttribute(element: Element, name: string, refuse: Refusal = malformedMessage): boolean {
  const value = attribute(element, name);
  if (value === undefined) return false;
  const lexical = trimXmlWhitespace(value);
  if (lexical === 'true' || lexical === '1') return true;
  if (lexical === 'false' || lexical === '0') return false;
  return refuse(`${name}="${value}" is not an xs:boolean (true, false, 1 or 0)`);
}

/**
 * An xs:anyURI attribute as the schema reads it (whiteSpace collapse), so " https://sp/ " and
 * "https://sp/" are one identifier rather than two that look alike. A URI has no inner whitespace
 * (RFC 3986), so a value still holding some after collapsing is refused, as is one holding an
 * invisible character.
 */
export function uriAttribute(element: Element, name: string, refuse: Refusal = malformedMessage): string | undefined {
  const value = attribute(element, name);
  if (value === undefined) return undefined;
  const collapsed = trimXmlWhitespace(value);
  if (/[ \t\r\n]/.test(collapsed)) refuse(`${name}="${value}" contains whitespace, which a URI cannot`);
  // An invisible control or format character (a right-to-left override, say) makes one identifier
  // print as another in `sp list` and the logs; RFC 3987 forbids them in identifiers too.
  const invisible = /[\p{Cc}\p{Cf}]/u.exec(collapsed)?.[0];
  if (invisible) refuse(`${name} contains the invisible character U+${invisible.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}, which a URI cannot`);
  return collapsed;
}
