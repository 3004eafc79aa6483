import { DOMParser } from '@xmldom/xmldom';
import { AppError, type ErrorCode } from '../core/errors.ts';

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
export function optionalChild(parent: Element, ns: string, localName: string, code: ErrorCode = 'SAML_REQUEST_INVALID'): Element | undefined {
  const found = elementChildren(parent, ns, localName);
  if (found.length > 1) throw new AppError(code, { detail: { reason: 'duplicate-element', element: localName } });
  return found[0];
}

export function textOf(element: Element | undefined): string | undefined {
  const text = element?.textContent?.trim();
  return text ? text : undefined;
}

export function attribute(element: Element, name: string): string | undefined {
  return element.hasAttribute(name) ? element.getAttribute(name)! : undefined;
}

export function booleanAttribute(element: Element, name: string): boolean {
  const value = attribute(element, name);
  return value === 'true' || value === '1';
}
