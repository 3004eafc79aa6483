import { SEALED } from './journal-lines.ts';
import type { JournalSealer } from './journal-sealer.ts';

/** One journal line holding `text` sealed (see journal-lines.ts); `writer` stays outside the seal. */
export function sealedLine(sealer: JournalSealer, writer: string, text: string): string {
  return `${SEALED}\t${writer}\t${sealer.seal(text)}`;
}
