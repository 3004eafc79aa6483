import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { parseConfig, ConfigError } from '../../src/config/load.ts';
import { loadSecretKey } from '../../src/config/secret-key.ts';

let base: string;

before(async () => {
  base = await mkdtemp(join(tmpdir(), 'stepgate-r7-secret-key-'));
});
after(async () => {
  await rm(base, { recursive: true, force: true });
});

/** What a start with this key file says, as its ConfigError's issues. */
function issuesOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `a configuration error, not ${String(error)}`);
    return error.issues;
  }
  assert.fail('expected a configuration error');
}

test('a secretKeyFile that is a directory is a configuration error naming secretKeyFile and the path, and the directory is left as it was', async () => {
  const dir = join(base, 'key-is-a-dir');
  await mkdir(dir, { mode: 0o755 });
  await chmod(dir, 0o755);
  const config = parseConfig({ dataDir: join(base, 'data-dir-case'), secretKeyFile: dir });
  assert.deepEqual(
    issuesOf(() => loadSecretKey(config, { dataIsFresh: false })),
    [`secretKeyFile (${dir}): is a directory; give the path of the file that holds the key`],
  );
  assert.equal((await stat(dir)).mode & 0o777, 0o755, 'its mode is not changed');
});

test('a key file others could read is made private, and a warning says it may have been copied', async () => {
  const dataDir = join(base, 'data-open-key');
  await mkdir(dataDir, { recursive: true });
  const file = join(dataDir, 'secret.key');
  await writeFile(file, `${randomBytes(32).toString('base64')}\n`);
  await chmod(file, 0o644);
  const lines: Array<Record<string, unknown>> = [];
  // The server passes its pino logger.
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });

  loadSecretKey(parseConfig({ dataDir }), { dataIsFresh: false, warnings: logger });
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  assert.equal(lines.length, 1);
  assert.deepEqual([lines[0]!.level, lines[0]!.event, lines[0]!.file, lines[0]!.mode], [40, 'secret-key.private', file, '644']);
  assert.match(String(lines[0]!.msg), /was open to other users \(mode 644\); made it private \(600\)\. Anyone who could read it may have copied it: .* opens the stored secrets .* treat them as exposed/);

  loadSecretKey(parseConfig({ dataDir }), { dataIsFresh: false, warnings: logger });
  assert.equal(lines.length, 1, 'a private key file is no news');
});

test('on a fresh data directory, a secretKeyFile that does not exist yet: the error says how to make one', () => {
  const file = join(base, 'not-yet.key');
  const issues = issuesOf(() => loadSecretKey(parseConfig({ dataDir: join(base, 'fresh'), secretKeyFile: file }), { dataIsFresh: true }));
  assert.equal(issues.length, 1);
  assert.match(issues[0]!, new RegExp(`^secretKeyFile \\(${file}\\): the file does not exist\\. Create it with a new key: openssl rand -base64 32 > ${file} && chmod 600 ${file} `));
  assert.doesNotMatch(issues[0]!, /created with/, 'nothing was created with a key yet');

  const existing = issuesOf(() => loadSecretKey(parseConfig({ dataDir: join(base, 'fresh'), secretKeyFile: file }), { dataIsFresh: false }));
  assert.match(existing[0]!, /the key this data directory was created with/, 'once data exists, only its own key will do');
});
