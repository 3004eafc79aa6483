import { sealWithPassword } from '../core/password-envelope.ts';
import type { AnyRecordTransfer, TransferContext } from './record-transfer.ts';
import { CONFIG_EXPORT, keyCheck, PAYLOAD_VERSION, RECORD_LISTS, recordTransfers, type ConfigPayload, type RecordList } from './config-payload.ts';

export type RecordCounts = Record<RecordList, number>;

/**
 * The installation's admin records (SAML SPs, OIDC clients, policies, signing keys, local users) as
 * one file encrypted with a password. Secrets are opened with this installation's key and travel in
 * clear inside the encryption, so the importing installation can seal them with its own key.
 */
export async function exportConfiguration(context: TransferContext, password: string): Promise<{ text: string; counts: RecordCounts }> {
  const transfers = recordTransfers(context);
  const payload: Partial<ConfigPayload> = {
    version: PAYLOAD_VERSION,
    exportedAt: new Date(context.clock.now()).toISOString(),
    source: { publicUrl: context.config.server.publicUrl, keyCheck: keyCheck(context.box) },
  };
  const counts = {} as RecordCounts;
  for (const list of RECORD_LISTS) {
    const records = await exportedRecords(transfers[list] as AnyRecordTransfer);
    payload[list] = records;
    counts[list] = records.length;
  }
  return { text: sealWithPassword(payload, password, CONFIG_EXPORT), counts };
}

async function exportedRecords(transfer: AnyRecordTransfer): Promise<Array<{ id: string }>> {
  return (await transfer.list()).map((record) => transfer.exported(record));
}
