import { readFileSync } from 'node:fs';
import { ParseOption, XmlBufferInputProvider, XmlDocument, XsdValidator, xmlRegisterInputProvider } from 'libxml2-wasm';
import * as samlify from 'samlify';

const SCHEMA_DIR = new URL('./schemas/', import.meta.url);
const FILES = ['saml-schema-protocol-2.0.xsd', 'saml-schema-assertion-2.0.xsd', 'xmldsig-core-schema.xsd', 'xenc-schema.xsd', 'stepgate-sp-metadata.xsd', 'stepgate-wsfed-role-types.xsd'];
/** Never fetch anything an inbound document names; DOCTYPEs are refused before we get here anyway. */
const PARSE_OPTIONS = ParseOption.XML_PARSE_NONET | ParseOption.XML_PARSE_NO_XXE;

/** A document that is not well-formed or does not match the schema; `message` is libxml2's first complaint. */
export class SchemaViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SchemaViolation';
  }
}

export interface SamlSchemas {
  /** Any SAML protocol message (AuthnRequest, LogoutRequest, Response ...). Synchronous, ~0.05 ms per request. */
  validateProtocol(xml: string): void;
  /** The SP metadata subset Stepgate accepts (schemas/stepgate-sp-metadata.xsd). */
  validateSpMetadata(xml: string): void;
}

let loaded: SamlSchemas | undefined;

/**
 * The schemas, compiled once per process and reused. libxml2-wasm's input-provider registry is
 * process-global, so a second registration would only duplicate it; hence the memo.
 */
export function samlSchemas(): SamlSchemas {
  loaded ??= load();
  return loaded;
}

/** Makes samlify's own flows use the same validator (samlify refuses to parse anything without one). */
export function registerWithSamlify(schemas: SamlSchemas): void {
  samlify.setSchemaValidator({
    validate: async (xml: string) => {
      schemas.validateProtocol(xml);
      return true;
    },
  });
}

function load(): SamlSchemas {
  const buffers: Record<string, Uint8Array> = {};
  for (const file of FILES) buffers[file] = readFileSync(new URL(file, SCHEMA_DIR));
  xmlRegisterInputProvider(new XmlBufferInputProvider(buffers));
  const protocol = compile(buffers, 'saml-schema-protocol-2.0.xsd');
  const spMetadata = compile(buffers, 'stepgate-sp-metadata.xsd');
  return {
    validateProtocol: (xml) => validate(protocol, xml),
    validateSpMetadata: (xml) => validate(spMetadata, xml),
  };
}

function compile(buffers: Record<string, Uint8Array>, file: string): XsdValidator {
  // The url lets libxml2 resolve the relative schemaLocation imports through the buffer provider.
  const doc = XmlDocument.fromBuffer(buffers[file]!, { url: file });
  try {
    return XsdValidator.fromDoc(doc);
  } finally {
    doc.dispose();
  }
}

function validate(validator: XsdValidator, xml: string): void {
  let doc: XmlDocument;
  try {
    doc = XmlDocument.fromString(xml, { option: PARSE_OPTIONS });
  } catch (error) {
    throw new SchemaViolation(`not well-formed XML: ${firstLine(error)}`);
  }
  // Every parsed document lives in the WASM heap until disposed; without this, memory grows per call.
  try {
    validator.validate(doc);
  } catch (error) {
    throw new SchemaViolation(firstLine(error));
  } finally {
    doc.dispose();
  }
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.trim().split('\n')[0]!.trim().slice(0, 300);
}
