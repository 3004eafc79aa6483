import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, EqualityFilter, SubstringFilter } from 'ldapts';
import { startConfiguredSlapd } from '../helpers/slapd-configured.ts';
import { patternMatches } from '../../src/policy/patterns.ts';

// Greek names and patterns, each pattern sent to slapd as a filter on stored values: narrowly a pattern
// takes in only what slapd matches, broadly everything slapd matches, and narrowly a value written as
// the pattern is (every Σ in capitals, ς and σ where the pattern has them) is taken in.
const SUFFIX = 'dc=example,dc=org';
const VALUES = ['ΚΩΣΤΑΣ', 'Κωστας', 'κωστας', 'κως', 'κωσ', 'ΚΩΣ', 'Οδυσσέας', 'ΟΔΥΣΣΈΑΣ', 'ΣΟΦΙΑ', 'σοφια', 'ΚΑΣΤΡΟ', 'IΣx', 'iσx'];
const PATTERNS = ['ΚΩΣ*', 'ΚΩΣ', 'κως', '*ΑΣ', '*ας', '*ΑΣ*', 'Οδυσσ*', 'ΟΔΥΣΣ*', 'Σ*', '*Σ', 'iΣ*', 'ς', 'σ*'];

const filterFor = (pattern: string) => {
  if (!pattern.includes('*')) return new EqualityFilter({ attribute: 'description', value: pattern });
  const parts = pattern.split('*');
  return new SubstringFilter({ attribute: 'description', initial: parts[0] || '', any: parts.slice(1, -1), final: parts.at(-1) || '' });
};
const literally = (pattern: string, value: string) => new RegExp(`^${pattern.split('*').join('.*')}$`, 'su').test(value);

test('Greek patterns match narrowly only what slapd matches, broadly all of it, and narrowly a value written as the pattern is', async () => {
  const ldif = [`dn: ou=v,${SUFFIX}\nobjectClass: organizationalUnit\nou: v\n`, ...VALUES.map((value, i) => `dn: cn=v${i},ou=v,${SUFFIX}\nobjectClass: applicationProcess\ncn: v${i}\ndescription:: ${Buffer.from(value).toString('base64')}\n`)].join('\n');
  const slapd = await startConfiguredSlapd({ suffix: SUFFIX, ldif });
  const client = new Client({ url: slapd.url });
  try {
    await client.bind(slapd.rootDn, slapd.rootPassword);
    const wrong: string[] = [];
    let matched = 0;
    for (const pattern of PATTERNS) {
      const { searchEntries } = await client.search(`ou=v,${SUFFIX}`, { scope: 'one', filter: filterFor(pattern), attributes: ['cn'] });
      const found = new Set(searchEntries.map((entry) => String(entry.cn)));
      VALUES.forEach((value, i) => {
        const bySlapd = found.has(`v${i}`);
        if (bySlapd) matched++;
        const narrow = patternMatches(pattern, value, 'narrow');
        if (narrow && !bySlapd) wrong.push(`narrowly ${pattern} takes in ${value}, slapd does not`);
        if (bySlapd && !patternMatches(pattern, value, 'broad')) wrong.push(`broadly ${pattern} does not take in ${value}, slapd does`);
        if (bySlapd && literally(pattern, value) && !narrow) wrong.push(`narrowly ${pattern} does not take in ${value}, written as it is`);
      });
    }
    assert.ok(matched >= 20, `slapd matched ${matched} pairs: the check is not empty`);
    assert.deepEqual(wrong, []);
  } finally {
    await client.unbind();
    await slapd.stop();
  }
});
