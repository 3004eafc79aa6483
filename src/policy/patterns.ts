import { foldCase, foldCaseAsLdap } from '../core/fold-case.ts';
import type { Comparison } from './comparison.ts';
import { remembered } from './remembered.ts';

/**
 * `*` matches any run of characters; everything else is literal; case-insensitive (foldCase), whole
 * value. Compared by code point. Not a RegExp: `.*` backtracks polynomially (`*a*a*a*b` against 1,000
 * characters took 90 s). The value must start with the part before the first `*` and end with the
 * part after the last; each part between is taken at its leftmost place after the one before, which
 * is a match whenever one exists, in at most (value length × pattern length) steps. Every character
 * counts, spaces too: for finding (`mfa list --search`); a policy compares with patternMatches.
 */
export function wildcardMatch(pattern: string, value: string): boolean {
  return matchParts(foldedParts(pattern), Array.from(foldCase(value)));
}

/**
 * wildcardMatch compared narrowly or broadly, and without the spaces a directory does not count. The
 * foldings disagree both ways: `ａdmin*` is `admin*` only to foldCase, while `a*` takes `a` + U+0301
 * only to the ASCII one (foldCase composes it into á). Spaces: see withSpacesPrepared.
 */
export function patternMatches(pattern: string, value: string, comparison: Comparison): boolean {
  return preparedMatch(pattern, preparedValue(value), comparison);
}

/**
 * Whether any of the patterns takes in any of an attribute's values. The values are prepared once per
 * list (a decision may try 1000 patterns on 200 `memberOf` values: folding each value per pattern took
 * most of a second), kept as foldedGroupNames keeps names.
 */
export function patternsMatchAny(patterns: readonly string[], values: readonly string[], comparison: Comparison): boolean {
  if (values.length === 0) return false;
  let prepared = PREPARED_VALUES.get(values);
  if (!prepared) {
    prepared = values.map(prepareValue);
    PREPARED_VALUES.set(values, prepared);
  }
  return prepared.some((value) => patterns.some((pattern) => preparedMatch(pattern, value, comparison)));
}

/** A value as each folding compares it, by code point. */
interface PreparedValue {
  asLdap: readonly string[];
  folded: readonly string[];
  /** Only for a value with combining marks (see MARKS_APART). */
  marksApart?: readonly string[];
  /** Only where it is not `folded` (see AS_SLAPD). */
  asSlapd?: readonly string[];
}

const PREPARED_VALUES = new WeakMap<readonly string[], readonly PreparedValue[]>();

function preparedMatch(pattern: string, value: PreparedValue, comparison: Comparison): boolean {
  const prepared = preparedPatterns(pattern);
  if (comparison === 'narrow') {
    const parts = prepared.narrow;
    return parts !== undefined && matchParts(parts.asLdap, value.asLdap) && matchParts(parts.folded, value.folded) && matchesBy(parts.asSlapd, value.asSlapd, parts, value, true);
  }
  const parts = prepared.broad;
  if (matchParts(parts.asLdap, value.asLdap) || matchParts(parts.folded, value.folded)) return true;
  return matchesBy(parts.marksApart, value.marksApart, parts, value, false) || matchesBy(parts.asSlapd, value.asSlapd, parts, value, false);
}

/**
 * A folding kept only where it differs from FOLDED, which stands in for it on the other side. Where it
 * differs on neither, it is FOLDED, which has answered (`same`): most pairs do not match, and a third
 * comparison for each would cost them a third more.
 */
function matchesBy(parts: Parts | undefined, text: readonly string[] | undefined, folded: { folded: Parts }, value: PreparedValue, same: boolean): boolean {
  if (parts === undefined && text === undefined) return same;
  return matchParts(parts ?? folded.folded, text ?? value.folded);
}

/**
 * The foldings: as every LDAP server folds a caseIgnore string (ASCII letters; U+0020 not before a
 * combining mark, as withLdapSignificantSpaces), and as foldCase with any white space a space (as
 * withSignificantSpaces: a tab or a no-break space must not get a value past a deny rule). Broadly, a
 * third: MARKS_APART.
 */
const AS_LDAP = { fold: foldCaseAsLdap, spaces: / +(?![ \p{M}])/gu };
const FOLDED = { fold: foldCase, spaces: /\s+/gu };
type Folding = typeof AS_LDAP;

/**
 * As slapd 2.5 folds (UTF8bvnormalize): each character lowercased on its own, as written (its simple
 * mapping: toLowerCase of one character, but `İ` is `i`, not `i` + U+0307), and only then NFKC. So a
 * mark composes with the letter the folding gave: `İ` + U+0301 is `í`, in which a pattern's `İ` (`i`)
 * does not occur, while `I` + U+0307 and `İ` + U+0307 are both `i` + U+0307, which FOLDED reads as `i`
 * and `i` + U+0307. It keeps ς and σ apart, as slapd does, which FOLDED joins. Narrowly a third
 * condition, broadly a third way.
 * JavaScript's tables are newer than slapd's (ẞ is ß to them): that is broad's side, and narrow's
 * AS_LDAP keeps every letter but ASCII apart. Spaces as FOLDED's: narrowly the other two decide them.
 */
const AS_SLAPD = { fold: foldAsSlapd, spaces: FOLDED.spaces };

function foldAsSlapd(text: string): string {
  return Array.from(text, (char) => (char === '\u0130' ? 'i' : char.toLowerCase())).join('').normalize('NFKC');
}

/**
 * foldCase a character at a time, leaving a combining mark where it was written. slapd keeps a mark
 * with the letter its own folding gives: `ß` + U+0301 begins with `ß` to it, and `ı` + U+0301 holds
 * U+0301; foldCase folds further (`ss`, `i`) and then composes the mark into the folded letter (`sś`,
 * `í`), so neither AS_LDAP nor FOLDED finds what slapd finds. Broad only (it folds `ß` as foldCase does), and kept
 * only for a value or pattern with marks: without, it is foldCase.
 */
const MARKS_APART = { fold: foldMarksApart, spaces: FOLDED.spaces };

function foldMarksApart(text: string): string {
  return Array.from(text.normalize('NFKC'), (char) => (/\p{M}/u.test(char) ? char : foldCase(char))).join('');
}

function hasMarks(text: string): boolean {
  return /\p{M}/u.test(text.normalize('NFKC'));
}

function prepareValue(value: string): PreparedValue {
  const folded = valueWithSpacesPrepared(FOLDED, value);
  const asSlapd = valueWithSpacesPrepared(AS_SLAPD, value);
  return {
    asLdap: Array.from(valueWithSpacesPrepared(AS_LDAP, value)),
    folded: Array.from(folded),
    ...(hasMarks(value) ? { marksApart: Array.from(valueWithSpacesPrepared(MARKS_APART, value)) } : {}),
    ...(asSlapd === folded ? {} : { asSlapd: Array.from(asSlapd) }),
  };
}

/** A username is one string, not a list: its preparation is kept by its text, as the patterns' are. */
const preparedValue = remembered(prepareValue);

/** Where a part of a pattern ends: at an end of the value, or at a `*`. */
type Side = 'end' | 'star';

/**
 * A text folded, its runs of white space found: taken out at its ends (`leading`, `trailing` say
 * whether there were any), and each run inside it two spaces (see withSpacesPrepared).
 */
function spacesTaken(folding: Folding, text: string): { folded: string; inner: string; leading: boolean; trailing: boolean } {
  const folded = folding.fold(text);
  let leading = false;
  let trailing = false;
  const inner = folded.replace(folding.spaces, (run: string, at: number) => {
    const first = at === 0;
    const last = at + run.length === folded.length;
    leading ||= first;
    trailing ||= last;
    return first || last ? '' : '  ';
  });
  return { folded, inner, leading, trailing };
}

function valueWithSpacesPrepared(folding: Folding, value: string): string {
  return ` ${spacesTaken(folding, value).inner} `;
}

/**
 * A value, or a part of a pattern, with its spaces as LDAP's substring matching prepares them (RFC 4518
 * 2.6.1): the runs at a value's ends give way to one space at each end, a run inside it becomes two
 * spaces, and a part's run next to a `*` one. So `sales *` takes in `sales  emea` and `sales` (the `*`
 * matching nothing) but not `salesforce`, and `* emea` takes in `sales emea` but not `salesemea`.
 * A run next to a `*` becomes one space broadly; two narrowly, which only a run inside the value
 * matches, so that a permit rule for `sales *` does not take in `sales`, nor one for `a * b` `a b`
 * (wherever two spaces match, one does: narrow stays within broad).
 * A part only of white space next to an end is the space at that end of the value: U+0020s there
 * count for nothing, as at a name's ends (` *@example.org` is `*@example.org`). Broadly it asks
 * nothing, not even that space, which the part beside it may need: slapd takes `a<TAB>* ` as `a<TAB>*`,
 * and `a<TAB>` + U+0020 is `a` and a space to FOLDED. Narrowly, an initial one with another space
 * character (a no-break space; not a tab, which slapd keeps) matches nothing (undefined): slapd takes
 * it for a space, which no value begins with once its own spaces at the start are gone, while AS_LDAP
 * would match a value that begins with that very character.
 */
function withSpacesPrepared(folding: Folding, text: string, before: Side, after: Side, comparison: Comparison): string | undefined {
  const { folded, inner, leading, trailing } = spacesTaken(folding, text);
  if (before === 'end' && after === 'end') return ` ${inner} `;
  if (folded === '') return '';
  const starSpace = comparison === 'narrow' ? '  ' : ' ';
  if (inner === '' && comparison === 'broad' && (before === 'end' || after === 'end')) return '';
  if (inner === '' && before === 'end' && /(?! )\p{Zs}/u.test(text)) return undefined;
  if (inner === '') return before === 'end' || after === 'end' ? ' ' : starSpace;
  const side = (where: Side, spaced: boolean) => (where === 'end' ? ' ' : spaced ? starSpace : '');
  return side(before, leading) + inner + side(after, trailing);
}

const foldedParts = remembered((pattern) => pattern.split('*').map((part) => Array.from(foldCase(part))));

type Parts = readonly (readonly string[])[];

/** A pattern's parts, prepared for each width and folding; narrow undefined where it matches nothing. */
const preparedPatterns = remembered((pattern) => {
  const split = pattern.split('*');
  const partsFor = (folding: Folding, comparison: Comparison): Parts | undefined => {
    const parts = split.map((part, i) => withSpacesPrepared(folding, part, i === 0 ? 'end' : 'star', i === split.length - 1 ? 'end' : 'star', comparison));
    return parts.every((part) => part !== undefined) ? parts.map((part) => Array.from(part)) : undefined;
  };
  const unlessFolded = (parts: Parts | undefined, folded: Parts | undefined) => (JSON.stringify(parts) === JSON.stringify(folded) ? {} : { asSlapd: parts });
  const narrow = { asLdap: partsFor(AS_LDAP, 'narrow'), folded: partsFor(FOLDED, 'narrow'), asSlapd: partsFor(AS_SLAPD, 'narrow') };
  const folded = partsFor(FOLDED, 'broad')!;
  return {
    narrow: narrow.asLdap && narrow.folded && narrow.asSlapd ? { asLdap: narrow.asLdap, folded: narrow.folded, ...unlessFolded(narrow.asSlapd, narrow.folded) } : undefined,
    broad: {
      asLdap: partsFor(AS_LDAP, 'broad')!,
      folded,
      ...(hasMarks(pattern) ? { marksApart: partsFor(MARKS_APART, 'broad')! } : {}),
      ...unlessFolded(partsFor(AS_SLAPD, 'broad')!, folded),
    },
  };
});

function matchParts(parts: readonly (readonly string[])[], text: readonly string[]): boolean {
  const first = parts[0]!;
  if (parts.length === 1) return text.length === first.length && occursAt(text, first, 0);
  const last = parts.at(-1)!;
  const end = text.length - last.length;
  if (end < first.length || !occursAt(text, first, 0) || !occursAt(text, last, end)) return false;
  let from = first.length;
  for (const part of parts.slice(1, -1)) {
    const at = indexOfBefore(text, part, from, end);
    if (at < 0) return false;
    from = at + part.length;
  }
  return true;
}

function occursAt(text: readonly string[], part: readonly string[], at: number): boolean {
  return part.every((char, i) => text[at + i] === char);
}

/** The first place at or after `from` where `part` occurs ending by `end`, or -1. */
function indexOfBefore(text: readonly string[], part: readonly string[], from: number, end: number): number {
  for (let at = from; at + part.length <= end; at++) if (occursAt(text, part, at)) return at;
  return -1;
}
