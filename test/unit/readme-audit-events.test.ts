import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * README's table of audit event types is what administrators write their jq queries and alerts
 * against: a type the code writes that it does not list goes unnoticed, and one it lists that the
 * code no longer writes is an alert that never fires.
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const sources = readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' })
  .filter((name) => name.endsWith('.ts'))
  .map((name) => readFileSync(join(ROOT, 'src', name), 'utf8'))
  .join('\n');

function documentedTypes(): string[] {
  const table = readme.slice(readme.indexOf('| `type` | written when |'));
  const rows = table.slice(0, table.search(/\n(?!\|)/)).split('\n').slice(2);
  return rows.flatMap((row) => [...row.split(' | ')[0]!.matchAll(/`([^`]+)`/g)].map((match) => match[1]!));
}

/** The audit types the code writes as a `type: '…'` field: dotted names (`login.password`) and `logout`. */
function writtenTypes(): string[] {
  return [...new Set([...sources.matchAll(/\btype: '([a-z-]+(?:\.[a-z-]+)+|logout)'/g)].map((match) => match[1]!))];
}

test('README lists every audit event type the code writes', () => {
  const documented = new Set(documentedTypes());
  assert.deepEqual(writtenTypes().filter((type) => !documented.has(type)), []);
});

test('every audit event type README lists is one the code writes', () => {
  assert.deepEqual(documentedTypes().filter((type) => !sources.includes(`'${type}'`)), []);
});
