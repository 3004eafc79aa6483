import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loginBucket } from '../../src/regulation/login-bucket.ts';
import { normaliseLogin } from '../../src/directory/ldap-filter.ts';

// A login's lock count must be the count of every spelling the LDAP directory reduces to the same
// name (normaliseLogin), or each new spelling brings a fresh count and the directory gets guesses
// Stepgate had locked.
const CONFIGS = [
  { stripDomainPrefix: true, stripUpnSuffix: true },
  { stripDomainPrefix: true, stripUpnSuffix: false },
  { stripDomainPrefix: false, stripUpnSuffix: true },
  { stripDomainPrefix: false, stripUpnSuffix: false },
];

/** Deterministic (mulberry32), so a failure can be run again. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Letters and marks that fold together, the separators the directory cuts at (and their fullwidth forms), spaces and ignorables. */
const PIECES = [
  'a', 'l', 'i', 'c', 'e', 'A', 'X', 'x', '1', '.', '-', '_', '@', '@', '\\', '\\', ' ', '  ', '\u00a0', '\u3000', '\ufeff',
  '＠', '﹫', '＼', '﹨', 'ß', 'ẞ', 'Σ', 'ς', '\u0301', '\u0307', '\u200b', '\u00ad', 'İ', 'ı', 'ａ', 'Å', 'A\u030a', '😀', '\u0007',
];

function spelling(next: () => number, maxPieces: number): string {
  const count = Math.floor(next() * (maxPieces + 1));
  return Array.from({ length: count }, () => PIECES[Math.floor(next() * PIECES.length)]).join('');
}

test("the tester's spellings with a backslash after the @ reach alice's entry and count as alice", () => {
  for (const login of ['alice', 'alice@x\\1', 'alice@x\\2', 'alice@x\\3', 'alice@corp\\3', 'alice@a\\b\\4', 'CORP\\alice@x\\1']) {
    assert.equal(normaliseLogin(login, CONFIGS[0]!), 'alice', `${login}: the directory looks up alice`);
    assert.equal(loginBucket(login), 'alice', login);
  }
});

test('the spellings that merged before still merge; a name after an @ and a backslash is the suffix', () => {
  for (const login of ['CORP\\alice', 'corp.example\\ALICE', 'alice@corp.example', 'ａｌｉｃｅ＠corp', 'CORP＼alice', 'D\\E\\alice', 'D\\ E\\alice', ' alice ', 'my domain\\alice']) {
    assert.equal(loginBucket(login), 'alice', JSON.stringify(login));
  }
  assert.equal(loginBucket('x@y\\alice'), 'x', 'the directory looks up x (the part before the last @), never alice');
  assert.notEqual(loginBucket('alice'), loginBucket('bob'));
  assert.notEqual(loginBucket('alice@x\\1'), loginBucket('1'), 'the digit after the suffix is no name of its own');
});

test('every login has the bucket of the name the directory reduces it to, with each strip setting (generated spellings)', () => {
  const next = random(0x5eed);
  let checked = 0;
  for (let i = 0; i < 20_000; i++) {
    const login = spelling(next, 14);
    for (const users of CONFIGS) {
      const name = normaliseLogin(login, users);
      if (name === null) continue;
      checked++;
      assert.equal(loginBucket(login), loginBucket(name), `${JSON.stringify(login)} is looked up as ${JSON.stringify(name)} (${JSON.stringify(users)})`);
    }
  }
  assert.ok(checked > 40_000, `enough logins the directory would look up (${checked})`);
});

test('any two logins the directory reduces to one name share a bucket (generated DOMAIN\\ and @suffix spellings of a few names)', () => {
  const next = random(0xa11ce);
  const names = ['alice', 'ALİCE', 'jörg', 'a.b-c', 'Σίσυφος'];
  const prefixes = ['', 'CORP\\', 'corp.example\\', 'D\\E\\', 'x@y\\', 'my corp\\', '\\', 'ＣＯＲＰ\\', 'CORP＼'];
  const suffixes = ['', '@corp.example', '@x\\1', '@a\\b\\4', '@a@b', ' @x', '@', '＠x', '@x\u200b', '@x\\'];
  for (const users of CONFIGS) {
    const byName = new Map<string, Set<string>>();
    for (let i = 0; i < 5_000; i++) {
      const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
      const login = `${pick(prefixes)}${pick(names)}${pick(suffixes)}${pick(['', ' ', spelling(next, 3)])}`;
      const name = normaliseLogin(login, users);
      if (name === null) continue;
      const buckets = byName.get(name) ?? new Set<string>();
      buckets.add(loginBucket(login));
      byName.set(name, buckets);
    }
    for (const [name, buckets] of byName) assert.equal(buckets.size, 1, `${JSON.stringify(name)} (${JSON.stringify(users)}) has the buckets ${JSON.stringify([...buckets])}`);
    assert.ok([...byName.keys()].some((name) => name.toLowerCase() === 'alice'), 'the names were reached');
  }
});
