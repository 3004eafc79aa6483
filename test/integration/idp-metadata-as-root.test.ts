import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chown, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withoutSecretKey } from '../helpers/env.ts';
import { captureOutput, waitForExit } from '../helpers/child-exit.ts';

/**
 * npm run idp-metadata opens and writes the store (signing keys on first use) as the CLI does: run
 * as root on the service user's data directory, it left db.json and kv.journal root's, 0600, and the
 * server could no longer read them.
 */
const IDP_METADATA = new URL('../../scripts/gen-idp-metadata.ts', import.meta.url).pathname;
const SERVICE_UID = 65534;
const asRootOnly = { skip: process.getuid?.() !== 0 && 'only root can give a directory to another user' };

test("npm run idp-metadata as root on another user's data directory is refused, with the same run as that user to paste, and writes nothing", asRootOnly, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-idp-metadata-root-'));
  try {
    const dataDir = join(dir, 'data');
    await mkdir(dataDir);
    await chown(dataDir, SERVICE_UID, SERVICE_UID);
    const output = join(dir, 'idp.xml');
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', IDP_METADATA, output], { env: { ...withoutSecretKey(), STEPGATE_DATA_DIR: dataDir }, stdio: ['ignore', 'pipe', 'pipe'] });
    const captured = captureOutput(child);
    const code = await waitForExit(child, { what: 'idp-metadata', output: captured });
    assert.equal(code, 1, captured());
    assert.match(captured(), new RegExp(`^${dataDir} belongs to user (?:id ${SERVICE_UID}|\\S+ \\(uid ${SERVICE_UID}\\)), and this command runs as root: `, 'm'));
    assert.match(captured(), new RegExp(`run -s idp-metadata -- ${output}$`, 'm'));
    assert.doesNotMatch(captured(), /\n\s+at /, 'no stack trace');
    assert.deepEqual(await readdir(dataDir), []);
    assert.equal(existsSync(output), false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
