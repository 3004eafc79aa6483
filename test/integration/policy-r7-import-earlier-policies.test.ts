import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { boot, type Booted } from '../helpers/boot.ts';
import { cliProcess } from '../helpers/cli.ts';
import { POLICY_COLLECTION, type PolicyRecord } from '../../src/policy/policy-store.ts';

const SECRET_KEY = randomBytes(32).toString('base64');
let app: Booted;

before(async () => {
  app = await boot({}, { secretKey: SECRET_KEY });
  await writeFile(join(app.dataDir, 'pw'), 'a long export passphrase\n');
});
after(() => app?.close());

test('a backup holding policies an earlier version saved, which policy set now refuses, is imported with warnings, not refused whole', async () => {
  const records = app.services.store.collection<PolicyRecord>(POLICY_COLLECTION);
  const now = Date.now();
  // Each was accepted by the validation before this version: they still run, and they are exported.
  const earlier = [
    { name: 'earlier-rules', rules: [{ name: 'all', then: { effect: 'permit' } }, { name: 'never', when: { groups: ['x'] }, then: { effect: 'deny' } }] },
    { name: 'earlier-template', template: 'permit-everyone-require-mfa', parameters: { message: 'hi' } },
    { name: 'earlier-description', description: 'line one\tcolumn', template: 'permit-everyone' },
  ] as const;
  for (const definition of earlier) await records.put({ id: definition.name, updatedAt: now, definition } as unknown as PolicyRecord);
  const file = join(app.dataDir, 'backup.export');
  const password = ['--password-file', join(app.dataDir, 'pw')];
  assert.equal((await cliProcess(app, SECRET_KEY, ['config', 'export', '--out', file, ...password])).code, 0);

  const imported = await cliProcess(app, SECRET_KEY, ['config', 'import', '--in', file, '--replace', ...password]);
  assert.equal(imported.code, 0, imported.err);
  for (const warning of [/rules\[1\]: rule #2 "never" can never match/, /parameters\.message: template permit-everyone-require-mfa takes no message/, /description: must not contain control or format characters/]) {
    assert.match(`${imported.out}\n${imported.err}`, new RegExp(`${warning.source}.*accepted: an earlier version allowed this`), warning.source);
  }
  // What an administrator writes today is still refused.
  const file2 = join(app.dataDir, 'new.json');
  await writeFile(file2, JSON.stringify(earlier[0]));
  const refused = await cliProcess(app, SECRET_KEY, ['policy', 'set', '--file', file2]);
  assert.equal(refused.code, 1);
  assert.match(refused.err, /can never match/);
});
