import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CliContext } from '../../src/cli/command.ts';
import { exportWriteRefusal } from '../../src/cli/export-file.ts';
import { FileWriteError } from '../../src/cli/write-private-file.ts';

/**
 * An export's --out file on a full disk: the data directory is often on the same disk, so the audit
 * record of the refusal cannot be written either. The administrator must still be told which file
 * could not be written and why, not only the audit log's raw "ENOSPC" error.
 */
test('an export refused for a full disk says why even when its audit record cannot be written', async () => {
  const said: string[] = [];
  const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  const context = {
    store: async () => ({ audit: { record: async () => { throw full; } } }),
    err: (line: string) => said.push(line),
  } as unknown as CliContext;
  const refusal = 'cannot write /var/backups/stepgate.export: no space left on the device';
  await assert.rejects(exportWriteRefusal(context, 'config.export', '/var/backups/stepgate.export', () => { throw new FileWriteError(refusal); }), full);
  assert.deepEqual(said, [refusal]);
});
