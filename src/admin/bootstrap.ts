import { createHash } from 'node:crypto';
import type { Collection, Store } from '../store/store.ts';
import { randomId } from '../core/ids.ts';
import { safeEqual } from '../core/secret-box.ts';
import { adminAccounts } from './admin-accounts.ts';
import { forgetSecretGuesses } from '../regulation/counters.ts';

interface BootstrapRecord {
  id: 'admin-bootstrap';
  secretHash: string;
  createdAt: number;
  usedAt?: number;
}

const CLAIM_NAMESPACE = 'admin-bootstrap-claim';

/**
 * Guesses at the secret count against this subject in the regulator, per client: apart from every
 * sign-in name, and no client's guesses lock it for another.
 */
export const GUESSED_BOOTSTRAP_SECRET = { secret: 'admin-bootstrap' };

function records(store: Store): Collection<BootstrapRecord> {
  return store.collection<BootstrapRecord>('bootstrap');
}

function hash(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

/** On first start there is no administrator and no default password: a one-time secret is minted instead. */
export async function mintBootstrapSecretIfNeeded(store: Store, now: number): Promise<string | undefined> {
  if (await records(store).get('admin-bootstrap')) return undefined;
  const secret = randomId(18);
  await records(store).put({ id: 'admin-bootstrap', secretHash: hash(secret), createdAt: now });
  return secret;
}

/** Whether the bootstrap is still open: no administrator has been created yet. */
export async function bootstrapStillOpen(store: Store): Promise<boolean> {
  return (await adminAccounts(store).list()).length === 0;
}

/**
 * A new one-time secret in place of the last one, for an administrator who lost the one printed at
 * first start (or whose bootstrap stopped between spending it and creating the account): undefined
 * once an administrator exists, since the bootstrap is then closed for good. The old secret stops
 * working, and the guesses counted at it are forgotten: they do not hold the new one back.
 */
export async function reissueBootstrapSecret(store: Store, now: number): Promise<string | undefined> {
  if (!(await bootstrapStillOpen(store))) return undefined;
  const secret = randomId(18);
  await records(store).put({ id: 'admin-bootstrap', secretHash: hash(secret), createdAt: now });
  await forgetSecretGuesses(store.kv, GUESSED_BOOTSTRAP_SECRET.secret);
  return secret;
}

/**
 * What became of a secret sent to /admin/bootstrap: `spent` is the right secret that another request
 * (one sent at the same moment, or an earlier one) has used, which is no guess and must not be
 * counted or audited as a wrong one.
 */
export type BootstrapRedemption = 'redeemed' | 'wrong' | 'spent';

/**
 * Spends the secret: `redeemed` exactly once, for the right secret, even for requests that arrive together.
 * The claim is a compare-and-set in the kv store, because the record's collection has no atomic
 * read-change-write across the awaits between reading `usedAt` and writing it.
 */
export async function redeemBootstrapSecret(store: Store, secret: string, now: number): Promise<BootstrapRedemption> {
  const record = await records(store).get('admin-bootstrap');
  if (!record || !safeEqual(hash(secret), record.secretHash)) return 'wrong';
  if (record.usedAt !== undefined) return 'spent';
  if (!(await store.kv.compareAndSet(CLAIM_NAMESPACE, record.secretHash, undefined, now))) return 'spent';
  await records(store).put({ ...record, usedAt: now });
  return 'redeemed';
}
