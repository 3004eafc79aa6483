import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JournalKeyValue } from '../../src/store/journal-kv.ts';
import { testSealer } from '../helpers/journal-sealer.ts';
import { Regulator } from '../../src/regulation/regulator.ts';

/**
 * A browser proposed for an SSO session waits only while that session can complete a sign-in: a
 * sign-out that lands while a password-only sign-in of the session is being recorded must not leave
 * the proposal behind (familiar, for a later second factor) once the session has ended.
 */
test('a session ended while its password-only sign-in is recorded leaves no proposed browser behind', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-familiar-candidate-ended-'));
  const now = 2_000_000_000;
  const kv = new JournalKeyValue(join(dir, 'kv.journal'), { now: () => now }, { sealer: testSealer() });
  await kv.open();
  try {
    const regulator = new Regulator(kv, { maxFailuresPerUser: 5, maxFailuresPerIp: 1000, windowSeconds: 300, lockoutSeconds: 600 }, { now: () => now });
    const device = { id: 'laptop', account: 'account-ola' };
    await regulator.deviceProvedPassword('sso-ola', device, 'ola', now + 3_600_000);
    const candidates = 'familiar-device-candidates';
    assert.notEqual(await kv.get(candidates, 'sso-ola'), undefined);
    // The sign-out lands right after the sign-in read the proposal.
    const { get } = kv;
    let armed = true;
    kv.get = async function endedAfterRead<T>(this: JournalKeyValue, namespace: string, key: string): Promise<T | undefined> {
      const value = await get.call(this, namespace, key);
      if (armed && namespace === candidates) {
        armed = false;
        await regulator.deviceSessionEnded('sso-ola');
      }
      return value as T | undefined;
    };
    try {
      await regulator.deviceSignedIn('sso-ola', device.account, { secondFactor: false });
    } finally {
      kv.get = get;
    }
    assert.equal(await kv.get(candidates, 'sso-ola'), undefined);
  } finally {
    await kv.close();
    await rm(dir, { recursive: true, force: true });
  }
});
