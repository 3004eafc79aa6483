import { randomBytes } from 'node:crypto';
import { SecretBox } from '../../src/core/secret-box.ts';
import { journalSealer, type JournalSealer } from '../../src/store/journal-sealer.ts';

/** A journal sealer with a key of its own: every store of one test (server and CLI alike) must share it. */
export function testSealer(key: Buffer = randomBytes(32)): JournalSealer {
  return journalSealer(new SecretBox(key));
}
