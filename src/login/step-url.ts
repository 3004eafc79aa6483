import type { LoginTransaction } from './transaction.ts';

/** The address of a transaction's pages (and, with a suffix, of its forms). */
export function stepUrl(tx: Pick<LoginTransaction, 'id'>, suffix = ''): string {
  return `/login/${encodeURIComponent(tx.id)}${suffix}`;
}
