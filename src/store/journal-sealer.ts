import type { SecretBox } from '../core/secret-box.ts';

/**
 * Seals the journal's content with the installation's secret key: the journal holds live bearer
 * credentials (session ids, OIDC token ids), and a copy of the data directory without the key (a
 * backup, a snapshot) must not be enough to use them.
 */
export interface JournalSealer {
  seal(text: string): string;
  /** Throws when `sealed` was sealed with another key or for another purpose, or was altered since. */
  open(sealed: string): string;
}

/**
 * Bound into every sealed journal line as additional data, so a sealed TOTP secret or client secret
 * does not open as a journal line, nor a journal line as one of them.
 */
const JOURNAL_PURPOSE = 'kv-journal-line';

export function journalSealer(box: SecretBox): JournalSealer {
  return {
    seal: (text) => box.seal(text, JOURNAL_PURPOSE),
    open: (sealed) => box.openText(sealed, JOURNAL_PURPOSE),
  };
}
