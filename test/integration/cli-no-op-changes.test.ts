import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { boot } from '../helpers/boot.ts';
import { cliProcess } from '../helpers/cli.ts';

// A suite run through sudo adds sudoUser to every event; these tests read only type and changed.
delete process.env['SUDO_USER'];
delete process.env['SUDO_UID'];

const SECRET_KEY = randomBytes(32).toString('base64');
const DEMO_SP = 'http://localhost:3000/saml/metadata';

/**
 * Run twice (a script, a second administrator), client set, sp set, user update and policy set said
 * "Updated" and wrote an event naming every field given, though nothing changed: the audit log then
 * showed changes no one made. A value the record had already is no change.
 */
test('client set, sp set, user update and policy set with values the record has already say nothing changed and write no event; a change names only the fields it changed', async () => {
  const app = await boot({}, { secretKey: SECRET_KEY });
  const work = await mkdtemp(join(tmpdir(), 'stepgate-no-op-'));
  const cli = async (...words: string[]) => {
    const run = await cliProcess(app, SECRET_KEY, words);
    assert.equal(run.code, 0, `${words.join(' ')}: ${run.err}`);
    return run.out.split('\n');
  };
  const events = async () => (await app.services.store.audit.query({ limit: 100 })).events.map(({ type, changed }) => ({ type, changed }));
  try {
    const passwordFile = join(work, 'alice.pw');
    await writeFile(passwordFile, 'a-long-Passw0rd-1\n');
    const policyFile = join(work, 'policy.json');
    await writeFile(policyFile, JSON.stringify({ name: 'staff-only', template: 'permit-specific-groups', parameters: { groups: ['staff'] } }));
    await cli('user', 'add', 'alice', '--name', 'Alice', '--group', 'staff', '--password-file', passwordFile);
    await cli('policy', 'set', '--file', policyFile);
    await cli('sp', 'add', 'metadata/sp/demo-sp.xml', '--name', 'Demo app');
    const added = await cli('client', 'add', '--name', 'Wiki', '--redirect-uri', 'https://wiki.example.org/cb');
    const clientId = /client_id:\s+(\S+)/.exec(added.join('\n'))![1]!;
    const before = (await events()).length;

    assert.deepEqual((await cli('user', 'update', 'alice', '--name', 'Alice', '--group', 'staff'))[0], 'alice has those values already; nothing changed.');
    assert.deepEqual(await cli('policy', 'set', '--file', policyFile), ['Policy staff-only has this definition already; nothing changed.']);
    assert.deepEqual((await cli('sp', 'set', DEMO_SP, '--name', 'Demo app', '--sign', 'both'))[0], `SAML SP ${DEMO_SP} has those settings already; nothing changed.`);
    assert.deepEqual((await cli('sp', 'set', DEMO_SP, '--metadata', 'metadata/sp/demo-sp.xml'))[0], `SAML SP ${DEMO_SP} has those settings already, and this metadata; nothing changed.`);
    assert.deepEqual((await cli('client', 'set', clientId, '--name', 'Wiki', '--redirect-uri', 'https://wiki.example.org/cb'))[0], '"Wiki" has those settings already; nothing changed.');
    assert.equal((await events()).length, before, 'no event for a change not made');

    assert.equal((await cli('user', 'update', 'alice', '--name', 'Alice Doe', '--group', 'staff'))[0], 'Updated alice.');
    assert.equal((await cli('sp', 'set', DEMO_SP, '--name', 'Demo app', '--sign', 'response'))[0], `Updated SAML SP ${DEMO_SP}.`);
    assert.equal((await cli('client', 'set', clientId, '--name', 'Wiki', '--scopes', 'openid email'))[0], 'Updated "Wiki".');
    await writeFile(policyFile, JSON.stringify({ name: 'staff-only', template: 'permit-specific-groups', parameters: { groups: ['staff', 'admins'] } }));
    assert.deepEqual(await cli('policy', 'set', '--file', policyFile), ['Saved policy staff-only.']);
    assert.deepEqual((await events()).slice(before), [
      { type: 'user.update', changed: ['name'] },
      { type: 'sp.set', changed: ['wantAssertionsSigned'] },
      { type: 'client.set', changed: ['scopes'] },
      { type: 'policy.set', changed: undefined },
    ]);
  } finally {
    await app.close();
    await rm(work, { recursive: true, force: true });
  }
});

/**
 * Some fields are read under another name than the option's (groups added and removed, the ID Token
 * algorithm), and a secret rotation is no field at all: each is a change, said and audited as one.
 */
test('groups added or removed, a new ID Token algorithm and a secret rotation alone are changes, and audited', async () => {
  const app = await boot({}, { secretKey: SECRET_KEY });
  const cli = async (...words: string[]) => {
    const run = await cliProcess(app, SECRET_KEY, words);
    assert.equal(run.code, 0, `${words.join(' ')}: ${run.err}`);
    return run.out.split('\n');
  };
  const events = async () => (await app.services.store.audit.query({ limit: 100 })).events.map(({ type, changed, secretRotated }) => ({ type, changed, secretRotated }));
  try {
    await cli('user', 'add', 'bob', '--name', 'Bob', '--group', 'staff');
    const added = await cli('client', 'add', '--name', 'Wiki', '--redirect-uri', 'https://wiki.example.org/cb');
    const clientId = /client_id:\s+(\S+)/.exec(added.join('\n'))![1]!;
    const before = (await events()).length;

    assert.equal((await cli('user', 'update', 'bob', '--group', 'admins'))[0], 'Updated bob.');
    assert.equal((await cli('user', 'update', 'bob', '--remove-group', 'admins'))[0], 'Updated bob.');
    assert.equal((await cli('client', 'set', clientId, '--id-token-alg', 'ES256'))[0], 'Updated "Wiki".');
    assert.equal((await cli('client', 'set', clientId, '--rotate-secret'))[0], 'Updated "Wiki".');
    assert.deepEqual((await events()).slice(before), [
      { type: 'user.update', changed: ['addGroups'], secretRotated: undefined },
      { type: 'user.update', changed: ['removeGroups'], secretRotated: undefined },
      { type: 'client.set', changed: ['idTokenAlg'], secretRotated: false },
      { type: 'client.set', changed: [], secretRotated: true },
    ]);
  } finally {
    await app.close();
  }
});
