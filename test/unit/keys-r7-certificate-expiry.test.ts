import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { SecretBox } from '../../src/core/secret-box.ts';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import { journalSealer } from '../../src/store/journal-sealer.ts';
import { parseConfig } from '../../src/config/load.ts';
import { runCli } from '../../src/cli/run-cli.ts';
import { keysCommands } from '../../src/cli/commands/keys.ts';
import { signingKeys } from '../../src/keys/signing-keys.ts';
import { warnOfExpiringCertificates } from '../../src/keys/certificate-expiry.ts';

const PUBLIC_URL = 'https://idp.example.org';
const DAY = 86_400_000;
let dataDir: string;
let store: LowdbStore;
const box = new SecretBox(randomBytes(32));
/** The time the tests read; the keys are made at the real time. */
let now = Date.now();
const clock = { now: () => now };
let notAfter: number;

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'stepgate-r7-cert-expiry-'));
  store = await new LowdbStore(dataDir, clock, { sealer: journalSealer(box) }).open();
  const keys = signingKeys(store, box, clock, PUBLIC_URL);
  await keys.ensure();
  notAfter = (await keys.active('RS256')).notAfter!.getTime();
});
after(async () => {
  await store?.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function startWarnings(at: number): Promise<Array<Record<string, unknown>>> {
  now = at;
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  // A fresh key service, as a start has.
  await warnOfExpiringCertificates(signingKeys(store, box, clock, PUBLIC_URL), logger, at);
  return lines;
}

async function keysList(at: number): Promise<string> {
  now = at;
  const out: string[] = [];
  const code = await runCli(keysCommands, ['keys', 'list'], { config: () => parseConfig({ dataDir, server: { publicUrl: PUBLIC_URL } }), store: async () => store, box: () => box, clock, out: (line) => out.push(line), err: (line) => out.push(line) });
  assert.equal(code, 0);
  return out.find((line) => line.includes('RS256'))!;
}

test('at start: no warning for a certificate far from its end; a warning for the active key certificate within 90 days of it, and once it has ended', async () => {
  assert.deepEqual(await startWarnings(notAfter - 91 * DAY), []);

  const [soon, ...more] = await startWarnings(notAfter - 30 * DAY);
  assert.deepEqual(more, []);
  const day = new Date(notAfter).toISOString().slice(0, 10);
  assert.deepEqual([soon!.level, soon!.event, soon!.alg, soon!.expired], [40, 'keys.certificate-expiry', 'RS256', false]);
  assert.match(String(soon!.msg), new RegExp(`the certificate of the active RS256 signing key \\S+ expires on ${day}: rotate the key \\(npm run cli -- keys add, then keys activate`));

  const [ended] = await startWarnings(notAfter + DAY);
  assert.equal(ended!.expired, true);
  assert.match(String(ended!.msg), new RegExp(`expired on ${day}`));
});

test('keys list flags a certificate that ends within 90 days or has ended', async () => {
  const day = new Date(notAfter).toISOString().slice(0, 10);
  assert.match(await keysList(notAfter - 200 * DAY), new RegExp(`; certificate until ${day}$`));
  assert.match(await keysList(notAfter - 30 * DAY), new RegExp(`; certificate until ${day} \\(expires in 30 days\\)$`));
  assert.match(await keysList(notAfter + DAY), new RegExp(`; certificate until ${day} \\(EXPIRED\\)$`));
});
