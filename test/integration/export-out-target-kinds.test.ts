import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lstat, mkdtemp, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { boot, type Booted } from '../helpers/boot.ts';
import { cliInProcess } from '../helpers/cli.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import { createUser } from '../helpers/oidc-rp.ts';
import type { SecretBox } from '../../src/core/secret-box.ts';

/**
 * `config export` and `mfa export` with --force replace only a regular file. They write a new file
 * next to the target and rename it over the target, which used to swap whatever was there for a
 * regular file holding the export: a symbolic link (as root, /dev/stdout's), a device, a named pipe.
 * Without --force they suggested --force for those too. Only FIFOs, links and regular files in a
 * temporary folder are tried here: never a system path or a device.
 */
const EXPORT_PASSWORD = 'export passphrase 42';
let app: Booted;
let work: string;
let passwordFile: string;

const cli = (...words: string[]) => cliInProcess({ config: () => app.services.config, store: async () => app.services.store, box: () => app.services.box, clock: app.services.clock }, words);
const exportTo = (command: 'config' | 'mfa', out: string, ...flags: string[]) => cli(command, 'export', '--out', out, '--password-file', passwordFile, ...flags);

before(async () => {
  app = await boot();
  work = await mkdtemp(join(tmpdir(), 'stepgate-export-out-'));
  passwordFile = join(work, 'export.pw');
  await writeFile(passwordFile, `${EXPORT_PASSWORD}\n`, { mode: 0o600 });
});
after(async () => {
  await app?.close();
  await rm(work, { recursive: true, force: true });
});

for (const command of ['config', 'mfa'] as const) {
  test(`${command} export --force refuses a symbolic link and a named pipe, naming what it is, and leaves them as they were`, async () => {
    const target = join(work, `${command}-target`);
    await writeFile(target, 'the backup volume\'s file\n');
    const link = join(work, `${command}-link`);
    await symlink(target, link);
    const fifo = join(work, `${command}-fifo`);
    execFileSync('mkfifo', [fifo]);

    for (const [path, kind] of [[link, 'a symbolic link'], [fifo, 'a named pipe \\(FIFO\\)']] as const) {
      for (const flags of [['--force'], []]) {
        const run = await exportTo(command, path, ...flags);
        assert.equal(run.code, 1, `${path} ${flags.join(' ')}: ${run.out}`);
        assert.match(run.err, new RegExp(`^cannot write ${path}: it is ${kind}; an export replaces only a regular file`));
        assert.doesNotMatch(run.err, /--force/, 'no advice to force what --force does not replace');
      }
    }
    assert.ok((await lstat(link)).isSymbolicLink(), 'the link is still a link');
    assert.equal(await readlink(link), target);
    assert.equal(await readFile(target, 'utf8'), 'the backup volume\'s file\n', 'the file it points to is untouched');
    assert.ok((await lstat(fifo)).isFIFO(), 'the pipe is still a pipe');
  });

  test(`${command} export replaces a regular file only with --force, and writes it private`, async () => {
    const file = join(work, `${command}-regular.export`);
    await writeFile(file, 'an older export\n', { mode: 0o644 });
    const kept = await exportTo(command, file);
    assert.equal(kept.code, 1);
    assert.equal(kept.err, `${file} exists; give --force to overwrite it`);
    const replaced = await exportTo(command, file, '--force');
    assert.equal(replaced.code, 0, replaced.err);
    assert.match(await readFile(file, 'utf8'), /"format": "stepgate-/);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
  });

  test(`${command} export that cannot write its file is audited as a failure, with the reason`, async () => {
    // Both exports hold every secret of their kind: an attempt is on record even when it wrote nothing.
    const out = join(work, `${command}-no-such-folder`, 'backup.export');
    const run = await exportTo(command, out);
    assert.equal(run.code, 1, run.out);
    const failures = (await app.services.store.audit.query({ types: [`${command}.export`], outcome: 'failure' })).events.filter((event) => event.file === out);
    assert.deepEqual(failures.map((event) => event.reason), [run.err.trim()]);
    assert.match(run.err, /^cannot write .*: its folder does not exist/);
  });
}

test('mfa export refuses the --out file before it opens a single TOTP secret', async () => {
  const id = await createUser(app, { username: 'erin', password: 'erin password 12345' });
  const user = (await app.services.directory.findUserById(id))!;
  const { totp } = app.services.mfa;
  const view = await totp.enrollment.begin({ user, sessionId: 'erin-setup' });
  assert.ok((await totp.enrollment.finish({ user, sessionId: 'erin-setup', ip: '127.0.0.1' }, oathtoolTotp(view.secret, app.services.clock.now()))).ok);
  const box = app.services.box;
  let opened = 0;
  const countingBox = { seal: box.seal.bind(box), mac: box.mac.bind(box), open: (...a: Parameters<SecretBox['open']>) => (opened++, box.open(...a)), openText: (...a: Parameters<SecretBox['openText']>) => (opened++, box.openText(...a)) } as unknown as SecretBox;
  const file = join(work, 'mfa-existing.export');
  await writeFile(file, 'an older export\n');
  const run = await cliInProcess({ config: () => app.services.config, store: async () => app.services.store, box: () => countingBox, clock: app.services.clock }, ['mfa', 'export', '--out', file, '--password-file', passwordFile]);
  assert.equal(run.code, 1);
  assert.equal(run.err, `${file} exists; give --force to overwrite it`);
  assert.equal(opened, 0, 'no secret was opened for an export that could not be written');
  const written = await cliInProcess({ config: () => app.services.config, store: async () => app.services.store, box: () => countingBox, clock: app.services.clock }, ['mfa', 'export', '--out', join(work, 'mfa-new.export'), '--password-file', passwordFile]);
  assert.equal(written.code, 0, written.err);
  assert.ok(opened > 0, 'the export that is written opens the secrets');
});
