import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { boot } from '../helpers/boot.ts';
import { cliProcess, type CliRun } from '../helpers/cli.ts';

const SECRET_KEY = randomBytes(32).toString('base64');

test('config import names local users by username in its plan, its dry run and its conflicts, with what a replace would change', async () => {
  const app = await boot({}, { secretKey: SECRET_KEY });
  const work = await mkdtemp(join(tmpdir(), 'stepgate-import-names-'));
  const cli = (...words: string[]) => cliProcess(app, SECRET_KEY, words);
  const succeeded = async (...words: string[]): Promise<CliRun> => {
    const run = await cli(...words);
    assert.equal(run.code, 0, `${words.join(' ')}: ${run.err}`);
    return run;
  };
  try {
    const [firstPassword, laterPassword, exportPassword, exportFile] = [join(work, 'first.pw'), join(work, 'later.pw'), join(work, 'export.pw'), join(work, 'records.export')];
    await writeFile(firstPassword, 'a-long-Passw0rd-1\n');
    await writeFile(laterPassword, 'another-long-Passw0rd-2\n');
    await writeFile(exportPassword, 'a long export passphrase\n');
    const idOf = (run: CliRun) => /\(id (\S+)\)\.$/m.exec(run.out)![1]!;
    const aliceId = idOf(await succeeded('user', 'add', 'alice', '--group', 'staff', '--password-file', firstPassword));
    const carolId = idOf(await succeeded('user', 'add', 'carol', '--password-file', firstPassword));
    await succeeded('config', 'export', '--out', exportFile, '--password-file', exportPassword);

    // Since the export: carol removed; alice disabled, with a new password and another group.
    await succeeded('user', 'remove', 'carol');
    await succeeded('user', 'disable', 'alice');
    await succeeded('user', 'set-password', 'alice', '--password-file', laterPassword);
    await succeeded('user', 'update', 'alice', '--group', 'admins');

    const aliceChanges = 'disabled here, enabled in the file; another password; groups ["admins", "staff"] here, ["staff"] in the file';
    const dryRun = await cli('config', 'import', '--in', exportFile, '--password-file', exportPassword, '--dry-run');
    assert.equal(dryRun.code, 1, 'alice differs: without --replace the import would be refused');
    assert.match(dryRun.out, new RegExp(`^  add        local user carol \\(id ${carolId}\\)$`, 'm'));
    assert.match(dryRun.out, new RegExp(`^  replace    local user alice \\(id ${aliceId}\\): ${escaped(aliceChanges)}$`, 'm'));
    assert.match(dryRun.err, new RegExp(`^  - local user alice \\(id ${aliceId}\\) exists here with different content: ${escaped(aliceChanges)}$`, 'm'));

    const refused = await cli('config', 'import', '--in', exportFile, '--password-file', exportPassword);
    assert.equal(refused.code, 1);
    assert.match(refused.err, new RegExp(`^  - local user alice \\(id ${aliceId}\\) exists here with different content: ${escaped(aliceChanges)}$`, 'm'));

    const imported = await succeeded('config', 'import', '--in', exportFile, '--password-file', exportPassword, '--replace');
    assert.match(imported.out, new RegExp(`^  add        local user carol \\(id ${carolId}\\)$`, 'm'));
    assert.match(imported.out, new RegExp(`^  replace    local user alice \\(id ${aliceId}\\): ${escaped(aliceChanges)}$`, 'm'));

    const again = await succeeded('config', 'import', '--in', exportFile, '--password-file', exportPassword, '--dry-run');
    assert.match(again.out, new RegExp(`^  unchanged  local user alice \\(id ${aliceId}\\)$`, 'm'), 'unchanged records are named the same way, with nothing beside them');
  } finally {
    await app.close();
    await rm(work, { recursive: true, force: true });
  }
});

function escaped(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
