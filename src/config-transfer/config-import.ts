import type { z } from 'zod';
import { openWithPassword } from '../core/password-envelope.ts';
import { safeEqual } from '../core/secret-box.ts';
import type { CollectionWrite } from '../store/store.ts';
import { REMOVED_SIGNING_KEY_COLLECTION, removedSigningKeys, type RemovedSigningKey, type SigningKeyRecord } from '../keys/signing-keys.ts';
import { utcMinuteWithZone } from '../core/utc-minute.ts';
import { NAMEID_FORMAT } from '../saml/constants.ts';
import { BUILT_IN_POLICIES } from '../policy/templates.ts';
import type { RecordTransfer, TransferContext } from './record-transfer.ts';
import { CONFIG_EXPORT, keyCheck, PAYLOAD_VERSION, payloadSchema, recordTransfers, type RecordList } from './config-payload.ts';
import { displacedKeys, keyStatusProblems, settleImportedKeys, type KeySettlement } from './signing-key-transfer.ts';
import { passwordChanged, signInNameClashes } from './local-user-transfer.ts';
import { plainIssueMessage } from '../config/plain-issue.ts';

export type ImportAction = 'add' | 'replace' | 'unchanged';

export interface PlannedRecord {
  list: RecordList;
  noun: string;
  id: string;
  /** A local user's username: the id alone does not tell an admin reading the audit log whose account it is. */
  username?: string;
  action: ImportAction;
  /** What the record will be here, where the action alone does not say (a signing key's status in the file and here). */
  note?: string;
  /** What a replace changes, where the kind of record can say it (local users: disabled, password ...). */
  differences?: string[];
}

/** A record as the plan and its conflicts name it: an account by its username too, as its id alone does not tell the admin whose it is. */
export function plannedRecordName(record: Pick<PlannedRecord, 'noun' | 'id' | 'username'>): string {
  return record.username === undefined ? `${record.noun} ${record.id}` : `${record.noun} ${record.username} (id ${record.id})`;
}

export interface ImportOptions {
  /** Imported keys take the file's status even where an older key would sign again (see settleImportedKeys). */
  activateImportedKeys: boolean;
  /**
   * What becomes of the file's keys that this installation removed (keys remove): refused unless the
   * admin says (`skip`: the rest is imported without them; `restore`: they are published again, retired).
   */
  removedKeys: 'refuse' | 'skip' | 'restore';
}

/** What importing a file would do here, worked out completely before anything is written. */
export interface ImportPlan {
  records: PlannedRecord[];
  /** This installation's signing keys that the imported ones displace, with their status now: they become retired. */
  retiredKeys: Array<Pick<SigningKeyRecord, 'id' | 'alg' | 'status'>>;
  /** Why the file cannot be imported here at all. */
  problems: string[];
  /** What the import would change of this installation's records: refused unless the admin asks for it (--replace). */
  conflicts: string[];
  /** Keys of the file that this installation removed, each with when: refused unless the admin says what becomes of them (ImportOptions.removedKeys). */
  removedKeys: string[];
  /** Local users here whose password the import replaces: their SSO sessions end, as after `user set-password`. */
  passwordsChanged: Array<{ id: string; username: string }>;
  /** Users enabled here whom the file disables: their sessions end, as `user disable` ends them. */
  disabledNow: Array<{ id: string; username: string }>;
  warnings: string[];
  /**
   * Records the checks of an admin's input refuse today but an earlier version saved: accepted as
   * they are, so that a backup of an upgraded installation can be restored; each names the command
   * that brings the record up to date.
   */
  outdated: string[];
  /** Everything the import stores, as one batch. */
  writes: CollectionWrite[];
}

/**
 * Opens the file (throws EnvelopeError for a wrong password or an altered file) and checks every
 * record as this installation checks an admin's input: shapes, metadata, redirect URIs, policies,
 * key material, references between records, clashes with what is here. Writes nothing.
 */
export async function planImport(context: TransferContext, text: string, password: string, options: ImportOptions): Promise<ImportPlan> {
  return planPayload(context, openWithPassword(text, password, CONFIG_EXPORT), options, 'this installation');
}

/**
 * Whose records an import is checked against: this installation's, or none, as on an installation
 * with this configuration and a new data directory (what `config export` checks its file against).
 */
export type ImportTarget = 'this installation' | 'an empty installation';

/**
 * A field this version does not know most often means a file from a newer Stepgate (the format's
 * version number changes only when old fields change): said so, rather than only "Unrecognized key".
 */
function importIssueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code !== 'unrecognized_keys') return plainIssueMessage(issue);
  return `${issue.keys.length === 1 ? 'a field' : 'fields'} this version of Stepgate does not know: ${issue.keys.map((key) => JSON.stringify(key)).join(', ')} (a file exported by a newer Stepgate? import it there, or upgrade this one first)`;
}

/** planImport of an opened file. */
export async function planPayload(context: TransferContext, payload: unknown, options: ImportOptions, onto: ImportTarget): Promise<ImportPlan> {
  const plan: ImportPlan = { records: [], retiredKeys: [], problems: [], conflicts: [], removedKeys: [], passwordsChanged: [], disabledNow: [], warnings: [], outdated: [], writes: [] };
  const version = (payload as { version?: unknown } | null)?.version;
  if (version !== PAYLOAD_VERSION) {
    plan.problems.push(`the file holds version ${JSON.stringify(version)} of the configuration format; this Stepgate reads version ${PAYLOAD_VERSION}`);
    return plan;
  }
  const parsed = payloadSchema.safeParse(payload);
  if (!parsed.success) {
    plan.problems.push(...parsed.error.issues.map((issue) => `the file: ${issue.path.join('.') || '(top level)'}: ${importIssueMessage(issue)}`));
    return plan;
  }
  const file = parsed.data;
  const transfers = recordTransfers(context);
  const policies = await planList('policies', transfers.policies, file.policies, plan, onto);
  const sps = await planList('samlServiceProviders', transfers.samlServiceProviders, file.samlServiceProviders, plan, onto);
  const clients = await planList('oidcClients', transfers.oidcClients, file.oidcClients, plan, onto);
  let settlement: KeySettlement | undefined;
  const removed = onto === 'this installation' ? await removedSigningKeys(context.store).list() : [];
  let removedHere: ReadonlyMap<string, RemovedSigningKey> = new Map();
  const keys = await planList('signingKeys', transfers.signingKeys, file.signingKeys, plan, onto, {
    settle(fromFile, here) {
      removedHere = removedKeysIn(fromFile, here, removed);
      tellRemovedKeys(removedHere, options.removedKeys, plan);
      const importing = options.removedKeys === 'skip' ? fromFile.filter((key) => !removedHere.has(key.id)) : fromFile;
      settlement = settleImportedKeys(here, importing, { activateImported: options.activateImportedKeys, removedHere: new Set(removedHere.keys()), now: context.clock.now() });
      plan.warnings.push(...settlement.warnings);
      return settlement.keys;
    },
    note: (key) => settlement?.notes.get(key.id),
  });
  if (options.removedKeys === 'restore') markRestored(removedHere, keys.admitted, context.clock.now(), plan);
  const users = await planList('localUsers', transfers.localUsers, file.localUsers, plan, onto);
  const usersHere = new Map(users.here.map((user) => [user.id, user]));
  for (const user of users.admitted) {
    const here = usersHere.get(user.id);
    if (here && passwordChanged(here, user)) plan.passwordsChanged.push({ id: user.id, username: user.username });
    if (here && !here.disabled && user.disabled) plan.disabledNow.push({ id: user.id, username: user.username });
  }

  const policyStore = context.policies;
  const policiesInFile = new Set(policies.admitted.map((policy) => policy.id));
  const policyHere = async (name: string) => (onto === 'this installation' ? (await policyStore.get(name)) !== undefined : BUILT_IN_POLICIES.some((policy) => policy.name === name));
  const references = [...sps.admitted.map((sp) => [transfers.samlServiceProviders.noun, sp.id, sp.settings.policy]), ...clients.admitted.map((client) => [transfers.oidcClients.noun, client.id, client.policy])];
  // A policy the file holds but the import refuses (its own problem is listed) is not "missing": said so, the admin fixes that one problem.
  const policiesRefused = new Set(file.policies.flatMap((item) => {
    const name = (item as { id?: unknown } | null)?.id;
    return typeof name === 'string' && !policiesInFile.has(name) ? [name] : [];
  }));
  for (const [noun, id, policy] of references) {
    if (policy === undefined || policiesInFile.has(policy) || (await policyHere(policy))) continue;
    plan.problems.push(policiesRefused.has(policy) ? `${noun} ${id}: its policy "${policy}" is in the file but refused (see its problems)` : `${noun} ${id}: its policy "${policy}" is neither in the file nor here`);
  }

  const keysHere = new Map(keys.here.map((key) => [key.id, key]));
  const displaced = displacedKeys(keys.here, keys.admitted, context.clock.now());
  plan.problems.push(...keyStatusProblems(keys.admitted, overlay(keys.here, [...keys.admitted, ...displaced])));
  for (const key of displaced) {
    plan.retiredKeys.push({ id: key.id, alg: key.alg, status: keysHere.get(key.id)!.status });
    plan.conflicts.push(`signing key ${key.id} (${key.alg}, ${keysHere.get(key.id)!.status} here) would be retired: the imported ${key.alg} key takes its place`);
    plan.writes.push({ collection: transfers.signingKeys.collection, item: key });
  }

  plan.problems.push(...signInNameClashes(overlay(users.here, users.admitted), new Set(users.admitted.map((user) => user.id))));
  if (users.admitted.length && context.config.directory.kind !== 'local') plan.warnings.push('local users: the configured directory is LDAP, so nobody signs in with them here');

  const persistent = sps.admitted.filter((sp) => sp.settings.nameIdFormat === 'persistent' || sp.nameIdFormats.includes(NAMEID_FORMAT.persistent));
  if (persistent.length && !safeEqual(file.source.keyCheck, keyCheck(context.box))) {
    plan.warnings.push(
      `this installation's secret key is not the one of ${file.source.publicUrl}: persistent NameIDs are derived from it, so ${persistent.map((sp) => sp.id).join(', ')} will see other NameIDs for the same users. To keep them, use the exporting installation's secret key here.`,
    );
  }
  return plan;
}

/** The file's keys that this installation removed and does not have again, with their removal. */
function removedKeysIn(fromFile: readonly { id: string }[], here: readonly SigningKeyRecord[], removed: readonly RemovedSigningKey[]): Map<string, RemovedSigningKey> {
  const hereIds = new Set(here.map((key) => key.id));
  const inFile = new Set(fromFile.map((key) => key.id));
  return new Map(removed.filter((key) => inFile.has(key.id) && !hereIds.has(key.id)).map((key) => [key.id, key]));
}

/** A removed key that comes back is published for verification again, so its holder's ID Tokens verify: never without the admin's word. */
function tellRemovedKeys(removedHere: ReadonlyMap<string, RemovedSigningKey>, choice: ImportOptions['removedKeys'], plan: ImportPlan): void {
  for (const key of removedHere.values()) {
    const removal = `signing key ${key.id} (${key.alg}): removed here on ${utcMinuteWithZone(key.removedAt)}`;
    if (choice === 'refuse') plan.removedKeys.push(`${removal}; importing it publishes it again for verification`);
    else if (choice === 'skip') plan.warnings.push(`${removal}; left out (--skip-removed-keys)`);
    else plan.warnings.push(`${removal}; published again for verification, retired (--restore-removed-keys)`);
  }
}

/**
 * A removed key restored on the admin's word is marked so, in the import's own batch: a start then
 * tells it apart from one an earlier version, which knows nothing of removals, brought back unasked.
 */
function markRestored(removedHere: ReadonlyMap<string, RemovedSigningKey>, admitted: readonly { id: string }[], now: number, plan: ImportPlan): void {
  const admittedIds = new Set(admitted.map((key) => key.id));
  for (const removal of removedHere.values()) {
    const restored: RemovedSigningKey = { ...removal, restoredAt: now };
    if (admittedIds.has(removal.id)) plan.writes.push({ collection: REMOVED_SIGNING_KEY_COLLECTION, item: restored });
  }
}

/**
 * At most this many ids per kind and action in the audit event (the counts beside them stay
 * complete), and each id at most so long: one event stays a line `audit` and jq read whole.
 */
const AUDITED_IDS = 200;
const MAX_AUDITED_ID_LENGTH = 512;

/** Per kind of record: how many each action touches and, for the audit log, which records were added or replaced. */
export type ListChanges = Record<ImportAction, number> & { added?: string[]; replaced?: string[]; addedUsernames?: string[]; replacedUsernames?: string[] };

/** Counts per kind of record and action, for the summary and the audit log. */
function planCounts(plan: ImportPlan): Partial<Record<RecordList, Record<ImportAction, number>>> {
  const counts: Partial<Record<RecordList, Record<ImportAction, number>>> = {};
  for (const record of plan.records) (counts[record.list] ??= { add: 0, replace: 0, unchanged: 0 })[record.action] += 1;
  return counts;
}

/**
 * What an import changes, as the audit log keeps it: the counts, and the ids of the records it adds
 * and replaces and of this installation's keys it retires, so an investigation can tell which SP,
 * client, policy, key or user came from a file. Unchanged records are only counted.
 */
export function planChanges(plan: ImportPlan): Partial<Record<RecordList, ListChanges>> & { retiredKeys: number; retiredKeyIds?: string[] } {
  const changes: Partial<Record<RecordList, ListChanges>> = planCounts(plan);
  for (const [action, field, usernames] of [['add', 'added', 'addedUsernames'], ['replace', 'replaced', 'replacedUsernames']] as const) {
    for (const [list, counts] of Object.entries(changes) as Array<[RecordList, ListChanges]>) {
      const records = plan.records.filter((record) => record.list === list && record.action === action).slice(0, AUDITED_IDS);
      if (!records.length) continue;
      counts[field] = records.map((record) => bounded(record.id));
      if (records.some((record) => record.username !== undefined)) counts[usernames] = records.map((record) => bounded(record.username ?? ''));
    }
  }
  const retiredKeyIds = plan.retiredKeys.slice(0, AUDITED_IDS).map((key) => bounded(key.id));
  return { ...changes, retiredKeys: plan.retiredKeys.length, ...(retiredKeyIds.length ? { retiredKeyIds } : {}) };
}

function bounded(id: string): string {
  return id.slice(0, MAX_AUDITED_ID_LENGTH);
}

/** What a kind of record needs beyond the generic checks. */
interface ListSteps<Exported, Stored> {
  /** Changes the file's records, read and checked for shape, before they are admitted (signing keys: the status each takes here). */
  settle?(fromFile: Exported[], here: Stored[]): Exported[];
  /** What the plan line says beside the record. */
  note?(record: Exported): string | undefined;
}

/** Checks one list of the file and adds its records to the plan; returns the records here and those the file would store. */
async function planList<Exported extends { id: string }, Stored extends { id: string }>(list: RecordList, transfer: RecordTransfer<Exported, Stored>, items: readonly unknown[], plan: ImportPlan, onto: ImportTarget, steps: ListSteps<Exported, Stored> = {}): Promise<{ here: Stored[]; admitted: Stored[] }> {
  const here = onto === 'this installation' ? await transfer.list() : [];
  const hereById = new Map(here.map((record) => [record.id, record]));
  const fromFile = parsedList(transfer, items, plan);
  const admitted: Stored[] = [];
  for (const record of steps.settle ? steps.settle(fromFile, here) : fromFile) {
    const name = `${transfer.noun} ${record.id}`;
    const replacing = hereById.get(record.id);
    const admission = transfer.admit(record, replacing);
    if (!admission.ok) {
      plan.problems.push(...admission.problems.map((problem) => `${name}: ${problem}`));
      continue;
    }
    plan.warnings.push(...admission.warnings.map((warning) => `${name}: ${warning}`));
    plan.outdated.push(...(admission.outdated ?? []).map((finding) => `${name}: ${finding}`));
    admitted.push(admission.record);
    const hereExported = replacing === undefined ? undefined : transfer.exported(replacing);
    const action: ImportAction = hereExported === undefined ? 'add' : sameContent(hereExported, record) ? 'unchanged' : 'replace';
    const username = transfer.username?.(record);
    const note = steps.note?.(record);
    const differences = action === 'replace' ? transfer.differences?.(hereExported!, record) : undefined;
    const planned: PlannedRecord = { list, noun: transfer.noun, id: record.id, ...(username !== undefined ? { username } : {}), action, ...(note !== undefined ? { note } : {}), ...(differences?.length ? { differences } : {}) };
    plan.records.push(planned);
    if (action === 'replace') plan.conflicts.push(`${plannedRecordName(planned)} exists here with different content${planned.differences ? `: ${planned.differences.join('; ')}` : ''}`);
    if (action !== 'unchanged') plan.writes.push({ collection: transfer.collection, item: admission.record });
  }
  return { here, admitted };
}

/** The file's records of one kind that have the right shape, each once; the others are problems of the plan. */
function parsedList<Exported extends { id: string }>(transfer: RecordTransfer<Exported, { id: string }>, items: readonly unknown[], plan: ImportPlan): Exported[] {
  const records: Exported[] = [];
  const seen = new Set<string>();
  items.forEach((item, index) => {
    const parsed = transfer.schema.safeParse(item);
    if (!parsed.success) {
      plan.problems.push(...parsed.error.issues.map((issue) => `${transfer.noun} #${index + 1} in the file: ${issue.path.join('.') || '(record)'}: ${importIssueMessage(issue)}`));
      return;
    }
    if (seen.has(parsed.data.id)) {
      plan.problems.push(`${transfer.noun} ${parsed.data.id}: listed more than once in the file`);
      return;
    }
    seen.add(parsed.data.id);
    records.push(parsed.data);
  });
  return records;
}

/**
 * The same record apart from when it was made, last changed, activated or retired (those differ
 * between installations that were set up alike). Constant-time: exported records hold secrets in clear.
 */
function sameContent(a: object, b: object): boolean {
  return safeEqual(canonicalJson(a), canonicalJson(b));
}

const TIMES = new Set(['createdAt', 'updatedAt', 'activatedAt', 'retiredAt']);

function canonicalJson(value: object): string {
  return JSON.stringify(value, (key, inner: unknown) => {
    if (TIMES.has(key)) return undefined;
    if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) return inner;
    return Object.fromEntries(Object.entries(inner).sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0)));
  });
}

/** `records` with `replacements` put in place by id: what the collection holds after the import. */
function overlay<T extends { id: string }>(records: readonly T[], replacements: readonly T[]): T[] {
  return [...new Map([...records, ...replacements].map((record) => [record.id, record])).values()];
}
