import { z } from 'zod';
import { AppError } from '../core/errors.ts';
import type { AttributeSource } from '../rp/claims.ts';
import { NAMEID_FORMAT, type NameIdFormatName } from '../saml/constants.ts';
import { SP_COLLECTION, type ServiceProviderRecord } from '../saml/sp-types.ts';
import { timestampSchema, type RecordTransfer, type TransferContext } from './record-transfer.ts';

const PROFILE_SOURCES = ['id', 'username', 'name', 'email', 'groups'];

const settingsSchema = z.strictObject({
  wantAssertionsSigned: z.boolean(),
  wantResponseSigned: z.boolean(),
  requireSignedRequests: z.boolean(),
  encryptAssertions: z.boolean(),
  nameIdFormat: z.enum(Object.keys(NAMEID_FORMAT) as [NameIdFormatName, ...NameIdFormatName[]]),
  attributes: z.array(
    z.strictObject({
      name: z.string().min(1),
      nameFormat: z.enum(['uri', 'basic', 'unspecified']),
      friendlyName: z.string().min(1).optional(),
      source: z.custom<AttributeSource>((value) => typeof value === 'string' && (PROFILE_SOURCES.includes(value) || /^attribute:.+/.test(value)), 'unknown attribute source'),
    }),
  ),
  allowPasswordChange: z.boolean(),
  policy: z.string().min(1).optional(),
});

/**
 * What the file holds of an SP: what the admin gave (metadata, name, settings). Endpoints and
 * certificates are read from the metadata again on import, through the registry's own validation.
 */
const exportedSpSchema = z.strictObject({
  id: z.string().min(1),
  name: z.string().min(1),
  metadataXml: z.string().min(1),
  settings: settingsSchema,
  createdAt: timestampSchema,
  updatedAt: timestampSchema,
});

export type ExportedSp = z.infer<typeof exportedSpSchema>;

export function samlSpTransfer(context: TransferContext): RecordTransfer<ExportedSp, ServiceProviderRecord> {
  const registry = context.serviceProviders;
  return {
    noun: 'SAML SP',
    collection: SP_COLLECTION,
    schema: exportedSpSchema,
    list: () => registry.list(),
    exported: ({ id, name, metadataXml, settings, createdAt, updatedAt }) => ({ id, name, metadataXml, settings, createdAt, updatedAt }),
    admit(sp, replacing) {
      try {
        const { record, warnings } = registry.checkTransferred(sp);
        // Cached samlify entities are keyed by updatedAt, so a replaced SP must get a later one.
        const updatedAt = replacing ? Math.max(record.updatedAt, replacing.updatedAt + 1) : record.updatedAt;
        return { ok: true, record: { ...record, updatedAt }, warnings };
      } catch (error) {
        if (error instanceof AppError && error.code === 'METADATA_INVALID') return { ok: false, problems: [error.userMessage] };
        throw error;
      }
    },
  };
}
