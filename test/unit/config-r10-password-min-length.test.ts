import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadConfig, parseConfig, ConfigError } from '../../src/config/load.ts';

/** README: directory.passwordRules `minLength` (12; at least 8). A shorter floor is a configuration error, not a weaker rule. */

function issuesOf(load: () => unknown): string[] {
  try {
    load();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.issues;
  }
  assert.fail('the configuration was accepted');
}

const withMinLength = (minLength: number) => ({ directory: { kind: 'local' as const, passwordRules: { minLength } } });

test('directory.passwordRules.minLength below 8 is refused, naming the key', () => {
  for (const minLength of [7, 4, 1, 0]) {
    const issues = issuesOf(() => parseConfig(withMinLength(minLength)));
    assert.equal(issues.length, 1, `${minLength}: ${issues.join('; ')}`);
    assert.match(issues[0]!, /^directory\.passwordRules\.minLength: .*8/, String(minLength));
  }
});

test('8 is accepted, and 12 is the default', () => {
  const at8 = parseConfig(withMinLength(8)).directory;
  assert.equal(at8.kind === 'local' && at8.passwordRules.minLength, 8);
  const byDefault = parseConfig({ directory: { kind: 'local' } }).directory;
  assert.equal(byDefault.kind === 'local' && byDefault.passwordRules.minLength, 12);
});

test('the same floor holds for a configuration file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-r10-min-length-'));
  try {
    const file = join(dir, 'stepgate.config.json');
    await writeFile(file, JSON.stringify({ secretKey: randomBytes(32).toString('base64'), dataDir: dir, ...withMinLength(6) }));
    assert.match(issuesOf(() => loadConfig({ STEPGATE_CONFIG: file })).join('\n'), /^directory\.passwordRules\.minLength: /m);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
