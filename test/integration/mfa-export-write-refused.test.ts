import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { boot, type Booted } from '../helpers/boot.ts';
import { cliInProcess } from '../helpers/cli.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import { createUser } from '../helpers/oidc-rp.ts';
import type { SecretBox } from '../../src/core/secret-box.ts';

/**
 * `mfa export` checks its --out file before it opens a single secret, and the write checks again:
 * a write refused then (a file that appeared meanwhile, a folder that is not there) is the command's
 * failure, audited as one, and never reported as an export made; a file that appeared meanwhile is
 * never overwritten without --force.
 */
const EXPORT_PASSWORD = 'export passphrase 42';
let app: Booted;
let work: string;
let passwordFile: string;

/** The CLI on this IdP's store, with `onOpen` called as each secret is opened for the export. */
function exportWith(out: string, onOpen: () => void = () => {}) {
  const box = app.services.box;
  const watching = {
    seal: box.seal.bind(box),
    mac: box.mac.bind(box),
    open: (...args: Parameters<SecretBox['open']>) => (onOpen(), box.open(...args)),
    openText: (...args: Parameters<SecretBox['openText']>) => (onOpen(), box.openText(...args)),
  } as unknown as SecretBox;
  return cliInProcess({ config: () => app.services.config, store: async () => app.services.store, box: () => watching, clock: app.services.clock }, ['mfa', 'export', '--out', out, '--password-file', passwordFile]);
}

async function exportAudits(file: string): Promise<Array<string | undefined>> {
  const events = (await app.services.store.audit.query({ limit: 500 })).events.filter((event) => event.type === 'mfa.export' && event.file === file);
  return events.map((event) => event.outcome as string | undefined);
}

before(async () => {
  app = await boot();
  work = await mkdtemp(join(tmpdir(), 'stepgate-mfa-export-refused-'));
  passwordFile = join(work, 'export.pw');
  await writeFile(passwordFile, `${EXPORT_PASSWORD}\n`, { mode: 0o600 });
  const id = await createUser(app, { username: 'finn', password: 'finn password 12345' });
  const user = (await app.services.directory.findUserById(id))!;
  const { totp } = app.services.mfa;
  const view = await totp.enrollment.begin({ user, sessionId: 'finn-setup' });
  assert.ok((await totp.enrollment.finish({ user, sessionId: 'finn-setup', ip: '127.0.0.1' }, oathtoolTotp(view.secret, app.services.clock.now()))).ok);
});
after(async () => {
  await app?.close();
  await rm(work, { recursive: true, force: true });
});

test('an --out file in a folder that does not exist: the export fails, says why, and is audited as a failure', async () => {
  const out = join(work, 'no-such-folder', 'mfa.export');
  const run = await exportWith(out);
  assert.equal(run.code, 1, run.out);
  assert.match(run.err, new RegExp(`^cannot write ${out}`));
  assert.doesNotMatch(run.out, /Exported/);
  assert.deepEqual(await exportAudits(out), ['failure']);
});

test('a file that appears while the secrets are opened is not overwritten without --force, and the export fails', async () => {
  const out = join(work, 'appears-meanwhile.export');
  let created = false;
  const run = await exportWith(out, () => {
    if (created) return;
    created = true;
    writeFileSync(out, 'written by someone else meanwhile\n');
  });
  assert.ok(created, 'the file appeared after the early check, as the secrets were opened');
  assert.equal(run.code, 1, run.out);
  assert.equal(run.err, `${out} exists; give --force to overwrite it`);
  assert.equal(await readFile(out, 'utf8'), 'written by someone else meanwhile\n', 'left as it was');
  assert.deepEqual(await exportAudits(out), ['failure']);
});
