import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { boot, type Booted } from '../helpers/boot.ts';
import { cliProcess } from '../helpers/cli.ts';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import { journalSealer } from '../../src/store/journal-sealer.ts';
import { SecretBox } from '../../src/core/secret-box.ts';
import { systemClock } from '../../src/core/clock.ts';
import { POLICY_COLLECTION, type PolicyRecord } from '../../src/policy/policy-store.ts';

const SECRET_KEY = randomBytes(32).toString('base64');
let dir: string;
let app: Booted;

/** What an earlier version saved: its checks let these through. */
const STORED = {
  'admins-only-typo': { name: 'admins-only-typo', template: 'permit-everyone', parameters: { groups: ['admins'] } },
  unreachable: { name: 'unreachable', rules: [{ then: { effect: 'permit' } }, { name: 'never', when: { groups: ['x'] }, then: { effect: 'deny' } }] },
  big: { name: 'big', rules: Array.from({ length: 1001 }, (_, i) => ({ when: { username: [`user${i}`] }, then: { effect: 'permit' } })) },
  fine: { name: 'fine', template: 'permit-specific-groups', parameters: { groups: ['staff'] } },
} as const;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stepgate-r8-stored-policies-'));
  const store = await new LowdbStore(dir, systemClock, { sealer: journalSealer(new SecretBox(Buffer.from(SECRET_KEY, 'base64'))) }).open();
  for (const definition of Object.values(STORED)) await store.collection<PolicyRecord>(POLICY_COLLECTION).put({ id: definition.name, definition, updatedAt: 0 } as unknown as PolicyRecord);
  await store.close();
  app = await boot({}, { dataDir: dir, secretKey: SECRET_KEY });
});
after(async () => {
  await app?.close();
  await rm(dir, { recursive: true, force: true });
});

/** What `policy set` says of this definition, saved under another name. */
async function policySetProblems(definition: object): Promise<string[]> {
  const file = join(dir, 'policy.json');
  await writeFile(file, JSON.stringify({ ...definition, name: 'checked-again' }));
  const result = await cliProcess(app, SECRET_KEY, ['policy', 'set', '--file', file]);
  assert.equal(result.code, 1);
  return result.err.split('\n').filter((line) => line.startsWith('  - ')).map((line) => line.slice(4));
}

test('the server warns at start, once per stored policy that policy set would refuse, with the problems policy set names', async () => {
  const warned = app.logs.filter((line) => line.event === 'policy.refused-as-stored');
  assert.deepEqual(warned.map((line) => [line.level, line.policy]).sort(), [[40, 'admins-only-typo'], [40, 'big'], [40, 'unreachable']]);
  for (const line of warned) {
    const problems = await policySetProblems(STORED[line.policy as keyof typeof STORED]);
    assert.deepEqual(line.problems, problems, String(line.policy));
    assert.match(String(line.msg), new RegExp(`^custom policy "${line.policy}" does not pass the checks of \`policy set\` \\(.+\\)\\. It still applies as saved; correct it with \`policy set --file FILE\` \\(\`policy show ${line.policy}\` prints its definition\\)$`));
  }
  assert.match(String(warned.find((line) => line.policy === 'admins-only-typo')!.msg), /parameters\.groups: template permit-everyone takes no groups, it would be ignored/);
});

test('policy list marks them and policy show says why, on stderr, leaving its JSON whole', async () => {
  const list = await cliProcess(app, SECRET_KEY, ['policy', 'list']);
  assert.equal(list.code, 0);
  for (const name of ['admins-only-typo', 'big', 'unreachable']) {
    assert.match(list.out, new RegExp(`^ {2}${name} +custom .*\\n {4}! policy set would refuse it as stored; it applies as saved \\(policy show ${name} says why\\)$`, 'm'), name);
  }
  assert.doesNotMatch(list.out, /^ {2}fine +custom .*\n {4}!/m);

  const shown = await cliProcess(app, SECRET_KEY, ['policy', 'show', 'unreachable']);
  assert.equal(shown.code, 0);
  assert.equal(JSON.parse(shown.out).name, 'unreachable');
  assert.equal(
    shown.err,
    'Note: policy set would refuse this policy as it is stored; it applies as saved. Correct it with policy set --file FILE (policy show NAME --definition prints the definition to start from):\n' +
      '  - rules[1]: rule #2 "never" can never match: rule #1 before it has no conditions and decides for everyone',
  );
  assert.equal((await cliProcess(app, SECRET_KEY, ['policy', 'show', 'fine'])).err, '');

  // Corrected as the note says: no longer marked.
  const file = join(dir, 'corrected.json');
  await writeFile(file, JSON.stringify({ name: 'admins-only-typo', template: 'permit-specific-groups', parameters: { groups: ['admins'] } }));
  assert.equal((await cliProcess(app, SECRET_KEY, ['policy', 'set', '--file', file])).code, 0);
  assert.doesNotMatch((await cliProcess(app, SECRET_KEY, ['policy', 'list'])).out, /^ {2}admins-only-typo +custom .*\n {4}!/m);
});
