import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SecretBox } from '../../src/core/secret-box.ts';
import { systemClock } from '../../src/core/clock.ts';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import { journalSealer } from '../../src/store/journal-sealer.ts';
import { KEY_ALGORITHMS, KeyRotationError, SIGNING_KEY_COLLECTION, signingKeys, type SigningKeyRecord } from '../../src/keys/signing-keys.ts';

const PUBLIC_URL = 'https://idp.example.org';

test('two "keys activate" at once for two waiting keys of one algorithm: one wins, the other waits again; one active key per algorithm', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-keys-race-'));
  const box = new SecretBox(randomBytes(32));
  // Two stores on one data directory, as the server's first start and then two CLI processes have.
  const open = () => new LowdbStore(dataDir, systemClock, { sealer: journalSealer(box), owner: false }).open();
  /** As stored, read by a store opened afresh (another process), not through the caches of the ones that wrote. */
  const stored = async () => {
    const reader = await open();
    try {
      return await reader.collection<SigningKeyRecord>(SIGNING_KEY_COLLECTION).list();
    } finally {
      await reader.close();
    }
  };
  const setup = await open();
  let first: LowdbStore | undefined;
  let second: LowdbStore | undefined;
  try {
    const setupKeys = signingKeys(setup, box, systemClock, PUBLIC_URL);
    await setupKeys.ensure();
    const before = await setup.collection<SigningKeyRecord>(SIGNING_KEY_COLLECTION).list();
    // `keys add` refuses a second waiting key of one algorithm; two adds at once can still leave two.
    const waiting = await Promise.all(KEY_ALGORITHMS.flatMap((alg) => [setupKeys.generate(alg, 'next'), setupKeys.generate(alg, 'next')]));
    await setup.putAll(waiting.map((item) => ({ collection: SIGNING_KEY_COLLECTION, item })));

    // Opened now, as a command run now opens its store.
    [first, second] = [await open(), await open()];
    const firstKeys = signingKeys(first, box, systemClock, PUBLIC_URL);
    const secondKeys = signingKeys(second, box, systemClock, PUBLIC_URL);
    const activations = await Promise.allSettled(KEY_ALGORITHMS.flatMap((alg) => waiting.filter((key) => key.alg === alg).map((key, index) => (index === 0 ? firstKeys : secondKeys).activate(key.id))));

    const after = await stored();
    for (const alg of KEY_ALGORITHMS) {
      const active = after.filter((key) => key.alg === alg && key.status === 'active');
      assert.equal(active.length, 1, `one active ${alg} key, not ${active.map((key) => key.id).join(' and ')}`);
      const previous = before.find((key) => key.alg === alg && key.status === 'active')!;
      assert.equal(after.find((key) => key.id === previous.id)?.status, 'retired', `the ${alg} key active before is retired`);
      const loser = waiting.find((key) => key.alg === alg && key.id !== active[0]!.id)!;
      assert.equal(after.find((key) => key.id === loser.id)?.status, 'next', `the other ${alg} key waits again`);
    }
    const refused = activations.filter((outcome) => outcome.status === 'rejected').map((outcome) => outcome.reason);
    assert.equal(refused.length, KEY_ALGORITHMS.length, 'one activation per algorithm is refused');
    for (const reason of refused) {
      assert.ok(reason instanceof KeyRotationError, String(reason));
      assert.match(reason.message, /another key was activated at the same time .* is waiting again \(next\)/);
    }

    // The refused one can be activated afterwards, as rotation goes on.
    const waitingAgain = (await secondKeys.all()).filter((key) => key.status === 'next');
    for (const key of waitingAgain) await secondKeys.activate(key.id);
    const rotated = await stored();
    for (const alg of KEY_ALGORITHMS) assert.equal(rotated.filter((key) => key.alg === alg && key.status === 'active').length, 1);
  } finally {
    await Promise.all([setup.close(), first?.close(), second?.close()]);
    await rm(dataDir, { recursive: true, force: true });
  }
});
