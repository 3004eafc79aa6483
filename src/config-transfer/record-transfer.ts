import { z } from 'zod';
import type { Config } from '../config/schema.ts';
import type { Store } from '../store/store.ts';
import type { SecretBox } from '../core/secret-box.ts';
import type { Clock } from '../core/clock.ts';
import type { PolicyStore } from '../policy/policy-store.ts';
import type { ClientRegistry } from '../oidc/client-registry.ts';
import type { SpRegistry } from '../saml/sp-registry.ts';

/** The installation a configuration is exported from or imported into, and its registries (built by the CLI's CommandContext). */
export interface TransferContext {
  config: Config;
  store: Store;
  /** Its data key: secrets are opened with it on export and sealed with it on import. */
  box: SecretBox;
  clock: Clock;
  policies: PolicyStore;
  clients: ClientRegistry;
  serviceProviders: SpRegistry;
}

/**
 * A record from the file that can be stored here, or why not (each reason worded for the admin).
 * `outdated`: what the checks of an admin's input refuse today but an earlier version saved (see
 * ImportPlan), each naming the command that brings the record up to date.
 */
export type Admission<Stored> = { ok: true; record: Stored; warnings: string[]; outdated?: string[] } | { ok: false; problems: string[] };

/**
 * How one kind of admin record travels in the export file. `Exported` is what the file holds (secrets
 * in clear: the whole file is encrypted); `Stored` is the record in the store (secrets sealed).
 */
export interface RecordTransfer<Exported extends { id: string }, Stored extends { id: string }> {
  /** How one record is named to the admin, e.g. "OIDC client". */
  noun: string;
  /** The store collection the records live in. */
  collection: string;
  /** The shape of one record in the file. */
  schema: z.ZodType<Exported>;
  /** Every record of this kind here. */
  list(): Promise<Stored[]>;
  /** A record here as the file carries it. */
  exported(record: Stored): Exported;
  /** The username of a record that is an account (local users), which the audit log and the plan name beside its id. */
  username?(record: Exported): string;
  /** What replacing the record here with the file's would change, worded for the admin and never a secret's value (local users: see userDifferences). */
  differences?(here: Exported, fromFile: Exported): string[];
  /** Validates a record from the file as this installation would validate an admin's input, and turns it into what is stored here; `replacing` is the record with its id here. */
  admit(record: Exported, replacing: Stored | undefined): Admission<Stored>;
}

/** Any of the kinds, where code treats them alike (their differences stay behind the interface). */
export type AnyRecordTransfer = RecordTransfer<{ id: string }, { id: string }>;

/** Epoch milliseconds, as every record stores its times. */
export const timestampSchema = z.number().int().nonnegative();
