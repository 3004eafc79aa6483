/**
 * Where a text JSON.parse refused first goes wrong, and what kind of mistake it is, in words that
 * quote none of the text. V8's own message quotes the characters around the mistake, and in a
 * configuration file the usual mistake is a password or key written without its double quotes: that
 * message would print part of the secret (to a terminal, or to the journal under systemd).
 */
export function describeJsonMistake(text: string): string {
  const mistake = firstMistake(text);
  if (!mistake) return 'not valid JSON';
  const before = text.slice(0, mistake.offset);
  const line = before.split('\n').length;
  const column = [...before.slice(before.lastIndexOf('\n') + 1)].length + 1;
  return `line ${line}, column ${column}: ${mistake.problem}`;
}

interface Mistake {
  offset: number;
  problem: string;
}

const EXPECTED_VALUE = 'expected a value: text in double quotes, a number, true, false, null, { … } or [ … ] (a password or key goes in double quotes too)';
const AFTER_MEMBER = 'expected "," or "}" (a comma missing, or a value that is not in double quotes)';
const AFTER_ELEMENT = 'expected "," or "]" (a comma missing, or a value that is not in double quotes)';
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const LITERALS = ['true', 'false', 'null'];

/** What the scanner expects next; objects and lists in progress are on a stack, so no depth overflows it. */
type Expecting = 'value' | 'value-or-end' | 'key' | 'key-or-end' | 'colon' | 'after-value';

/** RFC 8259's grammar, as JSON.parse reads it; undefined when the text is valid JSON. */
function firstMistake(text: string): Mistake | undefined {
  const open: Array<'object' | 'list'> = [];
  let expecting: Expecting = 'value';
  let at = 0;
  if (text.startsWith('\uFEFF')) return { offset: 0, problem: 'the file starts with a byte order mark (BOM): save it as UTF-8 without one' };
  for (;;) {
    while (at < text.length && ' \t\n\r'.includes(text[at]!)) at += 1;
    if (at >= text.length) return expecting === 'after-value' && open.length === 0 ? undefined : { offset: at, problem: 'the file ends before the JSON does (a "}" or "]" missing, or the file is cut short)' };
    const character = text[at]!;
    if (expecting === 'after-value') {
      const inside = open.at(-1);
      if (inside === undefined) return { offset: at, problem: 'more text after the end of the JSON (a stray character, or a "}" too many)' };
      if (character === ',') {
        expecting = inside === 'object' ? 'key' : 'value';
        at += 1;
      } else if (character === (inside === 'object' ? '}' : ']')) {
        open.pop();
        at += 1;
      } else {
        return { offset: at, problem: inside === 'object' ? AFTER_MEMBER : AFTER_ELEMENT };
      }
    } else if (expecting === 'colon') {
      if (character !== ':') return { offset: at, problem: 'expected ":" after the name' };
      expecting = 'value';
      at += 1;
    } else if ((expecting === 'key-or-end' && character === '}') || (expecting === 'value-or-end' && character === ']')) {
      open.pop();
      expecting = 'after-value';
      at += 1;
    } else if (expecting === 'key' || expecting === 'key-or-end') {
      if (character !== '"') return { offset: at, problem: 'expected a name in double quotes' };
      const end = stringEnd(text, at);
      if ('problem' in end) return end;
      expecting = 'colon';
      at = end.next;
    } else {
      const scanned = valueStart(text, at, open);
      if ('problem' in scanned) return scanned;
      expecting = scanned.expecting;
      at = scanned.next;
    }
  }
}

/** A value at `at`: an object or list opens (pushed on `open`), anything else is read whole. */
function valueStart(text: string, at: number, open: Array<'object' | 'list'>): { next: number; expecting: Expecting } | Mistake {
  const character = text[at]!;
  if (character === '{' || character === '[') {
    open.push(character === '{' ? 'object' : 'list');
    return { next: at + 1, expecting: character === '{' ? 'key-or-end' : 'value-or-end' };
  }
  if (character === '"') {
    const end = stringEnd(text, at);
    return 'problem' in end ? end : { next: end.next, expecting: 'after-value' };
  }
  NUMBER.lastIndex = at;
  const number = NUMBER.exec(text);
  if (number) return { next: at + number[0].length, expecting: 'after-value' };
  const literal = LITERALS.find((word) => text.startsWith(word, at));
  if (literal) return { next: at + literal.length, expecting: 'after-value' };
  return { offset: at, problem: EXPECTED_VALUE };
}

/** The end of the string that starts at `at` (a double quote). */
function stringEnd(text: string, at: number): { next: number } | Mistake {
  for (let index = at + 1; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code === 0x22) return { next: index + 1 };
    if (code < 0x20) return { offset: index, problem: 'a line break, tab or other control character inside text in double quotes (write it as \\n or \\t, or close the quotes before it)' };
    if (code !== 0x5c) continue;
    const escape = text[index + 1];
    if (escape === 'u' && /^[0-9A-Fa-f]{4}$/.test(text.slice(index + 2, index + 6))) index += 5;
    else if (escape !== undefined && '"\\/bfnrt'.includes(escape)) index += 1;
    else return { offset: index, problem: 'a backslash inside text in double quotes that starts no valid escape (\\n, \\t, \\", \\uXXXX ...; write a backslash itself as \\\\)' };
  }
  return { offset: at, problem: 'text in double quotes that is never closed (a " missing)' };
}
