import { sealWithPassword } from '../core/password-envelope.ts';
import { publicIdentityForTool } from '../config/public-identity.ts';
import type { AnyRecordTransfer, TransferContext } from './record-transfer.ts';
import { planPayload } from './config-import.ts';
import { CONFIG_EXPORT, keyCheck, PAYLOAD_VERSION, RECORD_LISTS, recordTransfers, type ConfigPayload, type RecordList } from './config-payload.ts';

export type RecordCounts = Record<RecordList, number>;

/**
 * What `config import` would say of the file on an installation with this configuration and a new
 * data directory (a restore): the records it would refuse, which make the whole file unimportable,
 * and those it accepts only as an earlier version saved them. An upgraded installation can hold
 * both; the admin can still fix them here, where they are stored.
 */
export interface RestoreFindings {
  refused: string[];
  outdated: string[];
}

/**
 * The installation's admin records (SAML SPs, OIDC clients, policies, signing keys, local users) as
 * one file encrypted with a password. Secrets are opened with this installation's key and travel in
 * clear inside the encryption, so the importing installation can seal them with its own key.
 */
export async function exportConfiguration(context: TransferContext, password: string): Promise<{ text: string; counts: RecordCounts; restore: RestoreFindings }> {
  const transfers = recordTransfers(context);
  // The import names the exporting installation by this URL: the one its relying parties know, which a
  // CLI given only the data directory (the server's PUBLIC_URL in its own environment) learns from the server's last start.
  const { config: identity } = await publicIdentityForTool(context.store, context.config);
  const payload: Partial<ConfigPayload> = {
    version: PAYLOAD_VERSION,
    exportedAt: new Date(context.clock.now()).toISOString(),
    source: { publicUrl: identity.server.publicUrl, keyCheck: keyCheck(context.box) },
  };
  const counts = {} as RecordCounts;
  for (const list of RECORD_LISTS) {
    const records = await exportedRecords(transfers[list] as AnyRecordTransfer);
    payload[list] = records;
    counts[list] = records.length;
  }
  // Planned from the file's JSON, as the import reads it, not from the objects it was made of.
  const plan = await planPayload(context, JSON.parse(JSON.stringify(payload)), { activateImportedKeys: false, removedKeys: 'refuse' }, 'an empty installation');
  return { text: sealWithPassword(payload, password, CONFIG_EXPORT), counts, restore: { refused: plan.problems, outdated: plan.outdated } };
}

async function exportedRecords(transfer: AnyRecordTransfer): Promise<Array<{ id: string }>> {
  return (await transfer.list()).map((record) => transfer.exported(record));
}
