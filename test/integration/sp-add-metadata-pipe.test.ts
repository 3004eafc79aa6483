import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { boot, type Booted } from '../helpers/boot.ts';
import { cliInProcess } from '../helpers/cli.ts';

/**
 * `sp add` of metadata from a pipe (`curl … | npm run cli -- sp add /dev/stdin`): the file was read
 * with one read at position 0, which a pipe refuses with a bare "ESPIPE: invalid seek, read", and
 * which would return at most one pipe buffer (64 KB). A FIFO in a temporary folder stands for the pipe.
 */
const fixture = fileURLToPath(new URL('../fixtures/saml/sp-valid.xml', import.meta.url));
let app: Booted;
let work: string;

const cli = (...words: string[]) => cliInProcess({ config: () => app.services.config, store: async () => app.services.store, box: () => app.services.box, clock: app.services.clock }, words);

before(async () => {
  app = await boot();
  work = await mkdtemp(join(tmpdir(), 'stepgate-sp-pipe-'));
});
after(async () => {
  await app?.close();
  await rm(work, { recursive: true, force: true });
});

test('sp add reads metadata from a named pipe, over several pipe buffers, up to the size limit', async () => {
  const metadata = await readFile(fixture, 'utf8');
  // Past one pipe buffer (64 KB), within the limit (256 KB).
  const large = metadata.replace(/(<\?xml[^>]*\?>)?/, `$1<!-- ${'padding '.repeat(20_000)}-->`);
  const fifo = join(work, 'metadata.fifo');
  execFileSync('mkfifo', [fifo]);
  const [added] = await Promise.all([cli('sp', 'add', fifo), writeFile(fifo, large)]);
  assert.equal(added.code, 0, added.err);
  assert.match(added.out, /^Registered SAML SP https:\/\/wiki\.example\.org\/saml\/metadata\./);
});
