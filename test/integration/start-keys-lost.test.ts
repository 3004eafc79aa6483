import { freePort } from '../../scripts/free-port.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startUntilBanner } from '../helpers/node-process.ts';
import { withTempDir } from '../helpers/temp-dir.ts';
import { withoutSecretKey } from '../helpers/env.ts';

const CLI = new URL('../../src/cli/index.ts', import.meta.url).pathname;
const { PUBLIC_URL: _publicUrl, STEPGATE_CONFIG: _config, ...INHERITED } = withoutSecretKey(process.env);

async function generatedOnUsedData(dataDir: string): Promise<Array<Record<string, unknown>>> {
  const output = await startUntilBanner({ ...INHERITED, STEPGATE_DATA_DIR: dataDir, PORT: String(await freePort()) });
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.event === 'keys.generated-on-used-data');
}

/**
 * The brief of a key store: a lost key is refused or told, never silently replaced. A db.json whose
 * signing keys were gone (edited by hand, restored in part) started with new keys and no word, and
 * every SAML SP and ID Token verifier then refused what the server signed.
 */
test('signing keys gone from the db.json of a data directory a server ran on: the start warns for each new key; a first start does not', async () => {
  await withTempDir('stepgate-keys-lost-', async (dir) => {
    const dataDir = join(dir, 'data');
    assert.deepEqual(await generatedOnUsedData(dataDir), [], 'a new data directory');
    assert.deepEqual(await generatedOnUsedData(dataDir), [], 'the keys are there');

    const db = JSON.parse(await readFile(join(dataDir, 'db.json'), 'utf8'));
    delete db.collections['signing-keys'];
    await writeFile(join(dataDir, 'db.json'), JSON.stringify(db), { mode: 0o600 });
    const warnings = await generatedOnUsedData(dataDir);
    assert.deepEqual(warnings.map((warning) => warning.alg).sort(), ['ES256', 'RS256']);
    assert.equal(warnings[0]!.level, 40, 'warn');
    assert.match(String(warnings[0]!.msg), /signing keys are gone from db\.json.*SAML service providers refuse its responses until they import the metadata again/);
  });
});

test('a data directory the CLI made before the first start (no server ran on it): the keys made at that start are not warned of', async () => {
  await withTempDir('stepgate-keys-cli-first-', async (dir) => {
    const dataDir = join(dir, 'data');
    execFileSync(process.execPath, ['--disable-warning=ExperimentalWarning', CLI, 'client', 'add', '--name', 'App', '--redirect-uri', 'http://127.0.0.1:9/cb'], { env: { ...INHERITED, STEPGATE_DATA_DIR: dataDir }, stdio: 'ignore' });
    assert.deepEqual(await generatedOnUsedData(dataDir), []);
  });
});
