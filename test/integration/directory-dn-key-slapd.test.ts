import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, EqualityFilter } from 'ldapts';
import { startSlapd } from '../../scripts/slapd.ts';
import { directoryDnKey } from '../../src/core/distinguished-names.ts';
import { foldCase } from '../../src/core/fold-case.ts';

// The directory's DN key decides which child group a parent's member value names; two DNs it keys
// alike must be one entry to the server, or a look-alike group gets another's parents. Checked against
// slapd for every character that some case mapping or normalization spells otherwise (JavaScript's
// tables fold ẞ, Cherokee and Georgian capitals, Roman numerals... that slapd 2.5 keeps apart), for
// spaces, and for attribute types slapd matches with or without case.
const GROUPS = 'ou=groups,dc=example,dc=org';
const PROBE = `cn=probe,${GROUPS}`;

/** RFC 4514 escaping of a DN attribute value. */
const escaped = (value: string): string => value.replace(/[,+"\\<>;=]/g, (char) => `\\${char}`).replace(/^[ #]/, (char) => `\\${char}`).replace(/ $/, '\\ ');

/** Two spellings of one RDN (`type`, two values), written as DNs under a tag RDN of their own. */
interface Pair {
  stored: string;
  asked: string;
}

function candidatePairs(): Pair[] {
  const rdnPairs: Array<[type: string, a: string, b: string]> = [];
  for (let cp = 0x41; cp <= 0x10ffff; cp++) {
    if ((cp >= 0x5b && cp <= 0x60) || (cp >= 0x7b && cp <= 0x7f) || (cp >= 0xd800 && cp <= 0xdfff)) continue;
    const char = String.fromCodePoint(cp);
    const spellings = new Set([char.toLowerCase(), char.toUpperCase(), char.normalize('NFKC'), char.toLowerCase().normalize('NFKC'), char.normalize('NFD'), foldCase(char)]);
    spellings.delete(char);
    for (const other of spellings) rdnPairs.push(['cn', `x${char}y`, `x${other}y`]);
  }
  for (const [a, b] of [['a  b', 'a b'], [' ab', 'ab'], ['ab ', 'ab'], ['a\tb', 'a b'], ['a\u00a0b', 'a b'], ['a\u3000b', 'a b'], ['a \u0301b', 'ab'], ['xI\u0307y', 'xi\u0307y'], ['xI\u0307y', 'xiy']]) {
    rdnPairs.push(['cn', a!, b!]);
  }
  for (const type of ['cn', 'ou', 'o', 'dc', 'uid', 'l', 'labeledURI', 'memberUid', 'homeDirectory', 'description']) rdnPairs.push([type, 'Team  Lead', 'team lead']);
  const pairs = rdnPairs.map(([type, a, b], i) => ({ stored: `${type}=${escaped(a)},cn=pair${i},dc=x`, asked: `${type}=${escaped(b)},cn=pair${i},dc=x` }));
  // Spelled as written, unescaped white space around a value of a type compared exactly, too.
  const written = [['description= Team Lead\t', 'description=Team Lead'], ['mail=\ta@example.org ', 'mail=a@example.org'], ['2.5.4.13=\r\nx ', '2.5.4.13=x'], ['cn=\tab', 'cn=ab']];
  return [...pairs, ...written.map(([a, b], i) => ({ stored: `${a},cn=written${i},dc=x`, asked: `${b},cn=written${i},dc=x` }))];
}

test('two DNs the directory keys alike are one entry to slapd: a character, a space or a case-exact type slapd keeps apart is never folded', async () => {
  const keyedAlike = candidatePairs().filter(({ stored, asked }) => {
    const key = directoryDnKey(stored);
    return key !== undefined && key === directoryDnKey(asked);
  });
  for (const [stored, asked] of [['cn=xAy', 'cn=xay'], ['ou=Team  Lead', 'ou=team lead'], ['cn=a  b', 'cn=a b'], ['cn=\\ ab', 'cn=ab'], ['description= Team Lead\t', 'description=Team Lead']]) {
    assert.ok(keyedAlike.some((pair) => pair.stored.startsWith(`${stored},`) && pair.asked.startsWith(`${asked},`)), `${stored} and ${asked} are keyed alike: the check is not empty`);
  }
  const ldif = `dn: ${PROBE}\nobjectClass: groupOfNames\ncn: probe\n${keyedAlike.map(({ stored }) => `member:: ${Buffer.from(stored).toString('base64')}`).join('\n')}\n`;
  const slapd = await startSlapd({ ldif: [ldif], ppolicy: false, monitor: false });
  const client = new Client({ url: slapd.url });
  try {
    await client.bind(slapd.serviceDn, slapd.servicePassword);
    const holds = async (dn: string) => (await client.search(PROBE, { scope: 'base', filter: new EqualityFilter({ attribute: 'member', value: dn }), attributes: ['1.1'] })).searchEntries.length > 0;
    const apart: string[] = [];
    for (const { stored, asked } of keyedAlike) {
      assert.ok(await holds(stored), `slapd holds ${stored} as written`);
      if (!(await holds(asked))) apart.push(`${JSON.stringify(stored)} / ${JSON.stringify(asked)}`);
    }
    assert.deepEqual(apart.slice(0, 20), [], `${apart.length} pair(s) keyed alike that slapd keeps apart`);
  } finally {
    await client.unbind();
    await slapd.stop();
  }
});
