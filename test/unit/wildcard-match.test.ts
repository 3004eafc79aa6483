import { test } from 'node:test';
import assert from 'node:assert/strict';
import { foldCase } from '../../src/core/fold-case.ts';
import { wildcardMatch } from '../../src/policy/patterns.ts';

/** The RegExp form wildcardMatch replaced (`*` as `.*`): the reference for its semantics on short inputs. */
function regexMatch(pattern: string, value: string): boolean {
  const source = pattern
    .split('*')
    .map((part) => foldCase(part).replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`, 'su').test(foldCase(value));
}

test('patterns that made the RegExp backtrack polynomially take linear-ish time', () => {
  const started = performance.now();
  assert.equal(wildcardMatch('*a*a*b', 'a'.repeat(2_000)), false);
  assert.equal(wildcardMatch('*a*a*a*b', 'a'.repeat(1_000)), false);
  assert.equal(wildcardMatch('*a*a*a*b', `${'a'.repeat(1_000)}b`), true);
  assert.equal(wildcardMatch(`${'*a'.repeat(50)}*b`, 'A'.repeat(100_000)), false);
  assert.equal(wildcardMatch(`*${'a'.repeat(100)}b*`, 'a'.repeat(100_000)), false, 'the worst case: value length × part length');
  const elapsed = performance.now() - started;
  // The RegExp took 90 s for the second line alone; a bound this loose only catches a cubic or worse matcher.
  assert.ok(elapsed < 1_000, `took ${elapsed.toFixed(0)} ms`);
});

test('same answers as the RegExp form, case folding, code points and literal regex characters included', () => {
  const alphabet = ['a', 'A', 'b', '*', '.', 'ß', 's', 'S', 'İ', 'i', 'ı', '\u212A', 'k', '😀', '\uD83D', '\uDE00', '＊', '\n', '\\', '?'];
  let seed = 42;
  const random = (n: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed % n;
  };
  const word = (maxLength: number) => Array.from({ length: random(maxLength + 1) }, () => alphabet[random(alphabet.length)]).join('');
  for (let i = 0; i < 20_000; i++) {
    const pattern = word(6);
    const value = i % 4 === 0 ? pattern.replaceAll('*', word(3)) : word(8);
    assert.equal(wildcardMatch(pattern, value), regexMatch(pattern, value), `${JSON.stringify(pattern)} against ${JSON.stringify(value)}`);
  }
});
