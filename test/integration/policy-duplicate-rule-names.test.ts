import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { cliInProcess } from '../helpers/cli.ts';
import { createUser } from '../helpers/oidc-rp.ts';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import { journalSealer } from '../../src/store/journal-sealer.ts';
import { SecretBox } from '../../src/core/secret-box.ts';
import { systemClock } from '../../src/core/clock.ts';
import { POLICY_COLLECTION, type PolicyRecord } from '../../src/policy/policy-store.ts';

const SECRET_KEY = randomBytes(32).toString('base64');
const PASSWORD = 'correct horse 42';
/** What an earlier version saved: two rules called "refused". */
const TWO_ALIKE = {
  name: 'two-alike',
  rules: [
    { name: 'refused', when: { groups: ['contractors'] }, then: { effect: 'deny', message: 'Contractors sign in elsewhere.' } },
    { name: 'staff', when: { groups: ['staff'] }, then: { effect: 'permit' } },
    { name: 'refused', then: { effect: 'deny', message: 'Staff only.' } },
  ],
};
const DUPLICATE_PROBLEM = 'rules[2].name: rule #3 and rule #1 are both called "refused" (a rule without a name is called "rule N" after its place); give each rule a name of its own';
let dir: string;
let app: Booted;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stepgate-duplicate-rule-names-'));
  const store = await new LowdbStore(dir, systemClock, { sealer: journalSealer(new SecretBox(Buffer.from(SECRET_KEY, 'base64'))) }).open();
  await store.collection<PolicyRecord>(POLICY_COLLECTION).put({ id: TWO_ALIKE.name, definition: TWO_ALIKE, updatedAt: 0 } as unknown as PolicyRecord);
  await store.close();
  app = await boot({}, { dataDir: dir, secretKey: SECRET_KEY });
});
after(async () => {
  await app?.close();
  await rm(dir, { recursive: true, force: true });
});

const cli = (...words: string[]) => cliInProcess({ config: () => app.services.config, store: async () => app.services.store, box: () => app.services.box, clock: app.services.clock }, words);

test('a stored policy with two rules called alike: the server starts, warns, and the policy applies as saved', async () => {
  const warned = app.logs.filter((line) => line.event === 'policy.refused-as-stored');
  assert.deepEqual(warned.map((line) => [line.level, line.policy, line.problems]), [[40, 'two-alike', [DUPLICATE_PROBLEM]]]);
  assert.equal((await app.services.policies.get('two-alike'))?.rules.length, 3, 'applies as saved');
});

test('a policy refusal is audited with the place of the rule, which tells two rules called alike apart', async () => {
  const userId = await createUser(app, { username: 'sam', password: PASSWORD, groups: ['sales'] });
  const tx = await app.services.interaction.deps.transactions.create({ protocol: 'saml', rpId: 'sp-two-alike', rpName: 'SP', rp: { policy: 'two-alike', allowPasswordChange: false }, handoff: { finisher: 'test', ref: '' }, forceAuthn: false, passive: false });
  const browser = new TestBrowser();
  const refused = await browser.submit(await browser.get(`${app.url}/login/${tx.id}`), { username: 'sam', password: PASSWORD });
  assert.equal(refused.status, 403);
  assert.match(refused.body, /Staff only\./);
  const { events } = await app.services.store.audit.query({ types: ['login.policy'], user: userId });
  assert.deepEqual(events.map((event) => [event.policy, event.rule, event.ruleNumber, event.reason]), [['two-alike', 'refused', 3, 'Staff only.']]);
  const explained = await cli('policy', 'explain', '--user', 'sam', '--policy', 'two-alike');
  assert.match(explained.out, /^rule {6}#3 "refused"$/m, 'the number policy explain shows');
});

test('a refusal by the first rule is audited as rule #1', async () => {
  const userId = await createUser(app, { username: 'cody', password: PASSWORD, groups: ['contractors'] });
  const tx = await app.services.interaction.deps.transactions.create({ protocol: 'saml', rpId: 'sp-two-alike', rpName: 'SP', rp: { policy: 'two-alike', allowPasswordChange: false }, handoff: { finisher: 'test', ref: '' }, forceAuthn: false, passive: false });
  const browser = new TestBrowser();
  const refused = await browser.submit(await browser.get(`${app.url}/login/${tx.id}`), { username: 'cody', password: PASSWORD });
  assert.match(refused.body, /Contractors sign in elsewhere\./);
  const { events } = await app.services.store.audit.query({ types: ['login.policy'], user: userId });
  assert.deepEqual(events.map((event) => [event.rule, event.ruleNumber]), [['refused', 1]]);
});

test('policy set refuses a rule name used twice, also the name a rule without one is called by', async () => {
  const file = join(dir, 'policy.json');
  await writeFile(file, JSON.stringify({ ...TWO_ALIKE, name: 'written-again' }));
  const refused = await cli('policy', 'set', '--file', file);
  assert.equal(refused.code, 1);
  assert.equal(refused.err, `Policy not saved:\n  - ${DUPLICATE_PROBLEM}`);
  await writeFile(file, JSON.stringify({ name: 'by-place', rules: [{ name: 'rule 2', when: { groups: ['staff'] }, then: { effect: 'permit' } }, { then: { effect: 'deny' } }] }));
  const byPlace = await cli('policy', 'set', '--file', file);
  assert.equal(byPlace.code, 1);
  assert.match(byPlace.err, /rules\[1\]: rule #2 and rule #1 are both called "rule 2"/);
  assert.equal(await app.services.policies.get('written-again'), undefined);
  assert.equal(await app.services.policies.get('by-place'), undefined);
  await writeFile(file, JSON.stringify({ name: 'told-apart', rules: [{ name: 'refused', when: { groups: ['contractors'] }, then: { effect: 'deny' } }, { name: 'refused otherwise', then: { effect: 'deny' } }] }));
  assert.equal((await cli('policy', 'set', '--file', file)).code, 0);
});
