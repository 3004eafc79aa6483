import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { SecretBox } from '../../src/core/secret-box.ts';
import { systemClock } from '../../src/core/clock.ts';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import { journalSealer } from '../../src/store/journal-sealer.ts';
import { removedSigningKeys, signingKeys } from '../../src/keys/signing-keys.ts';
import { warnOfRemovedKeysPublished } from '../../src/keys/removed-key-published.ts';

const PUBLIC_URL = 'https://idp.example.org';

test('the start-up warning of a removed key that signs again says to rotate before removing it; a removed key not published is no concern', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-removed-key-published-'));
  const box = new SecretBox(randomBytes(32));
  const store = await new LowdbStore(dataDir, systemClock, { sealer: journalSealer(box) }).open();
  try {
    const keys = signingKeys(store, box, systemClock, PUBLIC_URL);
    await keys.ensure();
    // An earlier version's import of an export in which the key was active makes it sign again.
    const signing = await keys.active('ES256');
    const removed = removedSigningKeys(store);
    await removed.put({ id: signing.id, alg: 'ES256', removedAt: Date.UTC(2026, 0, 5, 6, 7) });
    await removed.put({ id: 'gone-for-good', alg: 'RS256', removedAt: Date.UTC(2026, 0, 5, 6, 8) });

    const lines: Array<Record<string, unknown>> = [];
    await warnOfRemovedKeysPublished(keys, store, pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) }));
    assert.deepEqual(
      lines.map((line) => [line.event, line.keyId, line.status]),
      [['keys.removed-key-published', signing.id, 'active']],
    );
    assert.match(String(lines[0]!.msg), new RegExp(`remove it again: npm run cli -- keys add --alg ES256, then keys activate <its id>, then npm run cli -- keys remove ${signing.id} --force; to keep it published, remove it and import it again with this version.s config import --restore-removed-keys$`));
  } finally {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
