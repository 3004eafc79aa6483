import { randomPoolString } from './random-pool.ts';

/**
 * 256-bit random identifier, URL safe. Used for sessions, transactions and opaque tokens, and for
 * the client ids and key ids an administrator types. Never starting with "-": a command line would
 * read such an id as an option. Drawing again when the first character is "-" leaves each
 * remaining id equally likely, and costs log2(64/63), about 0.02 bits, of the 8 x bytes.
 */
export function randomId(bytes = 32): string {
  for (;;) {
    const id = randomPoolString(bytes, 'base64url');
    if (!id.startsWith('-')) return id;
  }
}
