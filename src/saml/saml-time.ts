import { AppError } from '../core/errors.ts';
import { attribute, type Refusal } from './xml-dom.ts';
import { trimXmlWhitespace } from './xml-whitespace.ts';

/** xs:dateTime: the zone designator (Z or ±hh:mm) is optional in the schema. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(Z|[+-]\d{2}:\d{2})?$/;

const malformedMessage: Refusal = (problem) => {
  throw new AppError('SAML_REQUEST_INVALID', { detail: { reason: 'malformed-attribute', problem: problem.slice(0, 300) } });
};

/**
 * An xs:dateTime attribute of a SAML message as epoch ms; undefined when absent. saml-core §1.3.3:
 * SAML times are UTC, so a value without a zone is read as UTC. Date.parse would read it in the
 * server's own zone, and the same message would be accepted or refused depending on the host's TZ.
 * Every time read from an SP's message goes through here.
 */
export function instantAttribute(element: Element, name: string, refuse: Refusal = malformedMessage): number | undefined {
  const value = attribute(element, name);
  if (value === undefined) return undefined;
  // The schema collapses XML white space at either end before reading an xs:dateTime.
  const lexical = trimXmlWhitespace(value);
  const match = DATE_TIME.exec(lexical);
  // Years before 0000 or after 9999 are valid xs:dateTime values but no message of ours has them: refused as unreadable.
  const at = match ? Date.parse(match[1] ? lexical : `${lexical}Z`) : NaN;
  return Number.isFinite(at) ? at : refuse(`${name}="${value}" is not an xs:dateTime`);
}
