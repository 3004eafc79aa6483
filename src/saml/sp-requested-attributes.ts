import { NS } from './constants.ts';
import { attribute, elementChildren } from './xml-dom.ts';
import type { AttributeMapping } from '../rp/claims.ts';

/** A RequestedAttribute an SP's metadata marks isRequired="true". */
export interface RequiredAttribute {
  name: string;
  friendlyName?: string;
}

/** Attributes a warning names; an SP may list dozens. */
const NAMED_ATTRIBUTES = 10;

/**
 * The attributes the SP says it cannot do without (saml-metadata §2.4.4.1: AttributeConsumingService /
 * RequestedAttribute isRequired="true"), once each. Read leniently: the schema leaves that part
 * unchecked, and a value that is not xs:boolean "true" or "1" only means no warning.
 */
export function requiredAttributes(descriptor: Element): RequiredAttribute[] {
  const found = new Map<string, RequiredAttribute>();
  for (const service of elementChildren(descriptor, NS.metadata, 'AttributeConsumingService')) {
    for (const requested of elementChildren(service, NS.metadata, 'RequestedAttribute')) {
      const name = attribute(requested, 'Name')?.trim();
      const required = attribute(requested, 'isRequired')?.trim();
      if (!name || (required !== 'true' && required !== '1') || found.has(name)) continue;
      const friendlyName = attribute(requested, 'FriendlyName')?.trim();
      found.set(name, { name, ...(friendlyName ? { friendlyName } : {}) });
    }
  }
  return [...found.values()];
}

/**
 * What to tell the administrator when the SP requires attributes that are not released under the
 * Name it asks for (an SP looks attributes up by Name): such an SP typically refuses every sign-in,
 * which `sp add` would otherwise report as a success. AWS's console role attributes are the usual case.
 */
export function unreleasedAttributeWarnings(required: readonly RequiredAttribute[], released: readonly AttributeMapping[]): string[] {
  const releasedNames = new Set(released.map((mapping) => mapping.name));
  const missing = required.filter((attribute) => !releasedNames.has(attribute.name));
  if (missing.length === 0) return [];
  const named = missing.slice(0, NAMED_ATTRIBUTES).map(label).join(', ');
  const more = missing.length > NAMED_ATTRIBUTES ? `, and ${missing.length - NAMED_ATTRIBUTES} more` : '';
  const sent = released.map(label).join(', ');
  return [
    `the SP's metadata marks ${missing.length === 1 ? 'an attribute' : 'attributes'} as required that Stepgate does not send: ${named}${more}. Stepgate sends ${sent || 'no attributes'}, and this set cannot be changed with sp set; sign in once to check that the SP accepts users without ${missing.length === 1 ? 'it' : 'them'}`,
  ];
}

function label(attribute: { name: string; friendlyName?: string }): string {
  // Names come from the SP's file: invisible characters could make the warning read as something else.
  const visible = (text: string) => text.slice(0, 200).replace(/[\p{Cc}\p{Cf}]/gu, '?');
  return attribute.friendlyName ? `${visible(attribute.friendlyName)} (${visible(attribute.name)})` : visible(attribute.name);
}
