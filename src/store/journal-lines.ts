/** The journal's line format: how a set or delete is written as a line, and read back. */

export interface Entry {
  /** Serialised JSON: isolates callers from each other and makes compare-and-set a string compare. */
  json: string;
  expiresAt?: number;
  durable: boolean;
}

/**
 * The journal's lines, each sealed with the installation's secret key (a copy of the journal without
 * the key shows no namespace, key or value):
 *   E <writer> <sealed>
 * `writer` names the writing process and stays outside the seal, so a process tailing the journal
 * skips its own lines without opening them. `sealed` opens to plaintext lines (one per write; a
 * compaction seals its snapshot in records of many lines, so that opening them at the next start
 * costs little), each `S` (set) or `D` (delete), tab-separated, then the value's JSON as is:
 *   S <writer> <expiresAt> <value length> <"namespace"> <"key"> <value JSON>
 * The value is stored verbatim (never JSON inside JSON), so writing and compacting cost no escaping
 * and replay parses no values. Namespace and key are JSON strings, and JSON never holds a raw tab or
 * newline, so the fields split cleanly. AES-GCM refuses a sealed line torn by a crash, glued to the
 * next append or altered.
 * Plaintext lines of earlier versions (`S` and `D` as above, and the first format, one JSON object per
 * line starting with `{`) are still read from a journal that begins with one (the owner's compaction
 * at open seals them); in a sealed journal they are refused (see #plaintextAllowed).
 */
export const SEALED = 'E';
const SET = 'S';
const DELETE = 'D';

export function setLine(writer: string, namespace: string, key: string, entry: Entry): string {
  return `${SET}\t${writer}\t${entry.expiresAt ?? ''}\t${entry.json.length}\t${JSON.stringify(namespace)}\t${JSON.stringify(key)}\t${entry.json}`;
}

export function deleteLine(writer: string, namespace: string, key: string): string {
  return `${DELETE}\t${writer}\t\t\t${JSON.stringify(namespace)}\t${JSON.stringify(key)}`;
}

export interface ParsedLine {
  set: boolean;
  namespace: string;
  key: string;
  entry?: Entry;
}

/**
 * undefined: a torn, damaged or foreign-format plaintext line, skipped (everything before it is intact).
 * `validateValues`: parse the value too (at start: a value damaged in place would otherwise be found
 * only when read, as a server error on every request that reads it).
 */
export function parseLine(raw: string, validateValues = false): ParsedLine | undefined {
  try {
    if (raw.startsWith('{')) return parseFirstFormat(raw);
    // The value holds no raw tab, so a whole set line has exactly 7 fields and a delete line 6.
    const fields = raw.split('\t');
    const [op, , expires, length, namespace, key, json] = fields as [string, string, string, string, string, string, string | undefined];
    if (!(op === SET && fields.length === 7) && !(op === DELETE && fields.length === 6)) return undefined;
    const base = { namespace: JSON.parse(namespace) as string, key: JSON.parse(key) as string };
    if (op === DELETE) return { set: false, ...base };
    if (json!.length !== Number(length)) return undefined;
    if (validateValues) JSON.parse(json!);
    return { set: true, ...base, entry: { json: json!, expiresAt: expires ? Number(expires) : undefined, durable: true } };
  } catch {
    return undefined;
  }
}

function parseFirstFormat(raw: string): ParsedLine {
  const line = JSON.parse(raw) as { o: 's' | 'd'; n: string; k: string; v?: string; e?: number };
  const base = { namespace: line.n, key: line.k };
  return line.o === 's' ? { set: true, ...base, entry: { json: line.v!, expiresAt: line.e, durable: true } } : { set: false, ...base };
}

export function isSealed(raw: string): boolean {
  return raw.startsWith(`${SEALED}\t`);
}
