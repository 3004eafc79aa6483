import { z } from 'zod';
import type { SecretBox } from '../core/secret-box.ts';
import type { EnvelopeFormat } from '../core/password-envelope.ts';
import type { TransferContext } from './record-transfer.ts';
import { policyTransfer } from './policy-transfer.ts';
import { samlSpTransfer } from './saml-sp-transfer.ts';
import { oidcClientTransfer } from './oidc-client-transfer.ts';
import { signingKeyTransfer } from './signing-key-transfer.ts';
import { localUserTransfer } from './local-user-transfer.ts';

export const CONFIG_EXPORT: EnvelopeFormat = { id: 'stepgate-config', description: 'a Stepgate configuration export' };

/** The version of what is inside the envelope; a Stepgate reads only the version it writes. */
export const PAYLOAD_VERSION = 1;

/** Every kind of record the file carries, by its list's name in the file; policies first, as SPs and clients refer to them. */
export function recordTransfers(context: TransferContext) {
  return {
    policies: policyTransfer(context),
    samlServiceProviders: samlSpTransfer(context),
    oidcClients: oidcClientTransfer(context),
    signingKeys: signingKeyTransfer(context),
    localUsers: localUserTransfer(context),
  };
}

export type RecordList = keyof ReturnType<typeof recordTransfers>;

export const RECORD_LISTS: readonly RecordList[] = ['policies', 'samlServiceProviders', 'oidcClients', 'signingKeys', 'localUsers'];

/** The payload around the records; each record's shape is checked on its own, so an error can name it. */
export const payloadSchema = z.strictObject({
  version: z.literal(PAYLOAD_VERSION),
  exportedAt: z.string(),
  source: z.strictObject({ publicUrl: z.string(), keyCheck: z.string() }),
  ...(Object.fromEntries(RECORD_LISTS.map((list) => [list, z.array(z.unknown())])) as Record<RecordList, z.ZodArray<z.ZodUnknown>>),
});

export type ConfigPayload = z.infer<typeof payloadSchema>;

/**
 * Tells the importing installation whether it has the exporting one's secret key, without carrying
 * the key: persistent SAML NameIDs are derived from it, so a different key changes them.
 */
export function keyCheck(box: SecretBox): string {
  return box.mac('config-transfer-key-check', 'v1');
}
