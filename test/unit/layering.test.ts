import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The project files a module loads when it runs (`import type` loads nothing, so it is left out), or
 * with `types`, every file it depends on, types included.
 */
function importsOf(file: string, { types = false } = {}): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const statements = [...text.matchAll(/^(import|export)\s([^;]*?)from\s+'([^']+)'/gms)].filter((match) => types || !match[2]!.startsWith('type '));
  const specifiers = [...statements.map((match) => match[3]!), ...[...text.matchAll(/^import\s+'([^']+)'/gm)].map((match) => match[1]!)];
  return specifiers.filter((specifier) => specifier.startsWith('.')).map((specifier) => relative(ROOT, resolve(ROOT, dirname(file), specifier)));
}

/** Every project file `file` reaches through its imports, itself included. */
function importGraph(file: string, options: { types?: boolean } = {}): Set<string> {
  const seen = new Set<string>();
  const pending = [file];
  while (pending.length) {
    const next = pending.pop()!;
    if (seen.has(next)) continue;
    seen.add(next);
    pending.push(...importsOf(next, options));
  }
  return seen;
}

function sourceFiles(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.ts')).map((name) => join(folder, name));
}

describe('layering: views and wiring depend on the core, not the other way round', () => {
  test('the sign-in flow (pure, no I/O) reaches nothing under views/', () => {
    const views = [...importGraph('src/login/flow.ts')].filter((file) => file.startsWith('views/'));
    assert.deepEqual(views, []);
  });

  test('the sign-in flow and the state it keeps (transaction, refused step) take no type from views/ either', () => {
    // A type from views/ in the transaction's state would tie what a sign-in is to how a page shows it.
    const views = [...importGraph('src/login/flow.ts', { types: true })].filter((file) => file.startsWith('views/'));
    assert.deepEqual(views, []);
  });

  test('the interaction takes no type from views/', () => {
    const text = readFileSync(join(ROOT, 'src/login/interaction.ts'), 'utf8');
    assert.doesNotMatch(text, /from '(\.\.\/)+views\//);
  });

  test('the browser-binding cookie is named in one module, which sign-ins and CSRF tokens both use', () => {
    const naming = sourceFiles('src').filter((file) => readFileSync(join(ROOT, file), 'utf8').includes("'sg_bb'"));
    assert.deepEqual(naming, ['src/http/browser-binding.ts']);
    for (const user of ['src/http/csrf.ts', 'src/login/transaction-binding.ts']) assert.match(readFileSync(join(ROOT, user), 'utf8'), /from '[./]*(http\/)?browser-binding\.ts'/, user);
  });

  test('only the store and open-store.ts (which opens it with the key check) import journal-kv.ts', () => {
    const outside = [...sourceFiles('src'), ...sourceFiles('scripts')].filter((file) => !file.startsWith('src/store/') && file !== 'src/open-store.ts' && importsOf(file).includes('src/store/journal-kv.ts'));
    assert.deepEqual(outside, []);
  });

  test('process.env is read by the configuration and, outside it, only by the CLI modules README "Architecture" names', () => {
    // Settings read anywhere else would escape the one validated schema, and `config validate`.
    const readers = sourceFiles('src').filter((file) => !file.startsWith('src/config/') && readFileSync(join(ROOT, file), 'utf8').includes('process.env'));
    assert.deepEqual(readers.sort(), ['src/cli/admin-audit.ts', 'src/cli/command-as-user.ts', 'src/cli/command.ts', 'src/cli/root-refusal.ts']);
    const row = readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n').find((line) => line.startsWith('| `src/config` |'));
    for (const file of readers) assert.ok(row?.includes(file), `README's src/config row names ${file}`);
  });

  test('README "Architecture" says what every folder under src/ is for', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('\n## Architecture\n'), readme.indexOf('\n## Benchmarks and performance\n'));
    const described = new Set([...table.matchAll(/^\| (.+?) \|/gm)].flatMap((match) => [...match[1]!.matchAll(/`(src\/[^`]+)`/g)].map((name) => name[1]!)));
    const folders = readdirSync(join(ROOT, 'src'), { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => `src/${entry.name}`);
    assert.deepEqual(folders.filter((folder) => !described.has(folder)), []);
  });
});
