import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { runCli } from '../../src/cli/run-cli.ts';
import { configCommands } from '../../src/cli/commands/config.ts';
import { parseConfig } from '../../src/config/load.ts';
import { recordPublicIdentity } from '../../src/config/public-identity.ts';
import { SecretBox } from '../../src/core/secret-box.ts';
import { systemClock } from '../../src/core/clock.ts';
import { openWithPassword } from '../../src/core/password-envelope.ts';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import { journalSealer } from '../../src/store/journal-sealer.ts';
import { CONFIG_EXPORT } from '../../src/config-transfer/config-payload.ts';
import type { Logger } from '../../src/core/log.ts';

const EXPORT_PASSWORD = 'a long export passphrase';
const silent = { warn() {}, info() {}, error() {} } as unknown as Logger;

test("config export names the installation by the public URL its server recorded, when the CLI is given only the data directory", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-export-source-'));
  try {
    const secretKey = randomBytes(32).toString('base64');
    const box = new SecretBox(Buffer.from(secretKey, 'base64'));
    const store = await new LowdbStore(dir, systemClock, { sealer: journalSealer(box), owner: false }).open();
    try {
      // The server got its public URL from its own environment (PUBLIC_URL in the unit file), as "Running as a service" shows.
      await recordPublicIdentity(store, parseConfig({ dataDir: dir, server: { publicUrl: 'https://idp.example.org' } }), silent, systemClock);
      const passwordFile = join(dir, 'export.pw');
      await writeFile(passwordFile, `${EXPORT_PASSWORD}\n`);
      const exportFile = join(dir, 'records.export');
      const err: string[] = [];
      const code = await runCli(configCommands, ['config', 'export', '--out', exportFile, '--password-file', passwordFile], {
        config: () => parseConfig({ dataDir: dir, secretKey }),
        store: async () => store,
        box: () => box,
        clock: systemClock,
        out: () => {},
        err: (line) => err.push(line),
      });
      assert.equal(code, 0, err.join('\n'));
      const payload = openWithPassword(await readFile(exportFile, 'utf8'), EXPORT_PASSWORD, CONFIG_EXPORT) as { source: { publicUrl: string } };
      assert.equal(payload.source.publicUrl, 'https://idp.example.org', 'not the default http://localhost:8080 of a CLI without PUBLIC_URL');
    } finally {
      await store.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
