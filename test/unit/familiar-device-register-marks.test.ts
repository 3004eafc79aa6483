import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JournalKeyValue } from '../../src/store/journal-kv.ts';
import { testSealer } from '../helpers/journal-sealer.ts';
import { Regulator } from '../../src/regulation/regulator.ts';
import { MAX_FAMILIAR_DEVICES } from '../../src/regulation/familiar-device-register.ts';

/**
 * The account's register of familiar browsers (familiar-device-register.ts) beyond what
 * regulator.test.ts covers: the forget mark outlives the browsers added after it, a browser pushed
 * out leaves no trace in the stored record, and a browser's proof of the password waits for its sign-in as
 * long as the SSO session lasts.
 */
const SETTINGS = { maxFailuresPerUser: 5, maxFailuresPerIp: 1000, windowSeconds: 300, lockoutSeconds: 600 };
const HOUR = 3_600_000;
let now = 2_000_000_000;
const clock = { now: () => now };
let dir: string;
let kv: JournalKeyValue;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stepgate-familiar-register-'));
  kv = new JournalKeyValue(join(dir, 'kv.journal'), clock, { sealer: testSealer() });
  await kv.open();
});
after(async () => {
  await kv.close();
  await rm(dir, { recursive: true, force: true });
});

type Device = { id: string; account: string };

async function signIn(regulator: Regulator, session: string, device: Device, secondFactor: boolean) {
  await regulator.deviceProvedPassword(session, device, 'name-typed', now + HOUR);
  return regulator.deviceSignedIn(session, device.account, { secondFactor });
}
const familiar = async (regulator: Regulator, device: Device) => (await regulator.familiar(device)) !== undefined;

test('a forget keeps out a browser that proved the password before it, also after other browsers were added since', async () => {
  const regulator = new Regulator(kv, SETTINGS, clock);
  const account = 'account-mia';
  const phished = { id: 'attacker', account };
  await regulator.deviceProvedPassword('mia-attacker', phished, 'mia', now + HOUR);
  // An admin unlock (or a password Stepgate changes) while that sign-in waits for its code.
  await regulator.unlock('mia', account);
  const own = { id: 'own-laptop', account };
  assert.ok(await signIn(regulator, 'mia-own', own, true), "the user's own sign-in after the unlock adds her browser");
  assert.equal(await regulator.deviceSignedIn('mia-attacker', account, { secondFactor: true }), undefined, 'the sign-in from before the unlock gets no cookie');
  assert.equal(await familiar(regulator, phished), false, 'and its browser is not familiar');
  assert.equal(await familiar(regulator, own), true);
});

test('the record of browsers that proved a second factor holds only browsers still on the list: it does not grow with every one pushed out', async () => {
  const regulator = new Regulator(kv, SETTINGS, clock);
  const account = 'account-ned';
  for (let i = 0; i < 3 * MAX_FAMILIAR_DEVICES; i++) await signIn(regulator, `ned-${i}`, { id: `phone-${i}`, account }, true);
  const stored = await kv.get<{ ids: string[]; secondFactor?: string[] }>('familiar-devices', account);
  assert.equal(stored?.ids.length, MAX_FAMILIAR_DEVICES);
  assert.deepEqual(stored?.secondFactor, stored?.ids, 'the ten on the list, no more');
});

test("a browser's password waits for its sign-in as long as the SSO session lasts, not for some minutes", async () => {
  const regulator = new Regulator(kv, SETTINGS, clock);
  const device = { id: 'slow-phone', account: 'account-ola' };
  await regulator.deviceProvedPassword('ola-1', device, 'ola', now + 8 * HOUR);
  now += 2 * HOUR; // the user came back to the code page later in the day
  assert.deepEqual(await regulator.deviceSignedIn('ola-1', 'account-ola', { secondFactor: true }), { device, login: 'ola' });
  assert.equal(await familiar(regulator, device), true);
});
