import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { boot, TEST_FINISHER } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { request as loginRequest } from '../helpers/login-request.ts';
import { LocalUserAdmin } from '../../src/directory/local-user-admin.ts';
import { cliProcess } from '../helpers/cli.ts';
import { withoutSecretKey } from '../helpers/env.ts';
import { captureOutput, waitForExit } from '../helpers/child-exit.ts';

// A suite run through sudo: the CLI would add who ran sudo (sudoUser) to the events these tests expect in full.
delete process.env['SUDO_USER'];
delete process.env['SUDO_UID'];

const SECRET_KEY = randomBytes(32).toString('base64');
const DEMO_SP = 'http://localhost:3000/saml/metadata';

test('user disable and user enable of an account already in that state say so and write no second event', async () => {
  const app = await boot({}, { secretKey: SECRET_KEY });
  const work = await mkdtemp(join(tmpdir(), 'stepgate-admin-audit-'));
  const cli = (...words: string[]) => cliProcess(app, SECRET_KEY, words);
  try {
    const passwordFile = join(work, 'alice.pw');
    await writeFile(passwordFile, 'a-long-Passw0rd-1\n');
    assert.equal((await cli('user', 'add', 'alice', '--password-file', passwordFile)).code, 0);
    assert.match((await cli('user', 'disable', 'alice')).out, /^Disabled alice\./);
    const twice = await cli('user', 'disable', 'alice');
    assert.deepEqual({ code: twice.code, first: twice.out.split('\n')[0] }, { code: 0, first: 'alice was disabled already; nothing changed.' });
    assert.equal((await cli('user', 'enable', 'alice')).out, 'Enabled alice.');
    assert.deepEqual(await cli('user', 'enable', 'alice'), { code: 0, out: 'alice was enabled already; nothing changed.', err: '' });
    const types = (await readFile(join(app.dataDir, 'audit.log'), 'utf8')).split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { type: string }).type);
    assert.deepEqual(types.filter((type) => type === 'user.disable' || type === 'user.enable'), ['user.disable', 'user.enable']);
  } finally {
    await app.close();
    await rm(work, { recursive: true, force: true });
  }
});

test('user disable of an account disabled already still ends a session it has (disabled without the CLI ending it)', async () => {
  const app = await boot({ directory: { kind: 'local' } }, { secretKey: SECRET_KEY });
  try {
    await addLocalUser(app.services, 'dora', 'a-long-Passw0rd-2');
    const tx = await app.services.interaction.deps.transactions.create(loginRequest({ rp: { policy: 'permit-everyone', allowPasswordChange: false }, handoff: { finisher: TEST_FINISHER, ref: '' } }));
    const browser = new TestBrowser();
    await browser.submit(await browser.get(`${app.url}/login/${tx.id}`), { username: 'dora', password: 'a-long-Passw0rd-2' });
    assert.equal(app.finished.get(tx.id)?.ok, true);
    await new LocalUserAdmin(app.services.store, app.services.config, app.services.clock).update('dora', { disabled: true });
    const run = await cliProcess(app, SECRET_KEY, ['user', 'disable', 'dora']);
    assert.equal(run.code, 0, run.err);
    assert.deepEqual(run.out.split('\n').slice(0, 2), ['dora was disabled already; nothing changed.', 'Ended 1 SSO session.']);
  } finally {
    await app.close();
  }
});

test('every change an administrator makes with the CLI is in the audit log: what, to which record, via the CLI, by which OS account; never a secret', async () => {
  const app = await boot({}, { secretKey: SECRET_KEY });
  const work = await mkdtemp(join(tmpdir(), 'stepgate-admin-audit-'));
  const cli = async (...words: string[]) => {
    const run = await cliProcess(app, SECRET_KEY, words);
    assert.equal(run.code, 0, `${words.join(' ')}: ${run.err}`);
    return run;
  };
  try {
    const [password, nextPassword] = ['a-long-Passw0rd-1', 'another-long-Passw0rd-2'];
    const [passwordFile, nextPasswordFile] = [join(work, 'first.pw'), join(work, 'next.pw')];
    await writeFile(passwordFile, `${password}\n`);
    await writeFile(nextPasswordFile, `${nextPassword}\n`);
    const policyFile = join(work, 'policy.json');
    await writeFile(policyFile, JSON.stringify({ name: 'staff-only', template: 'permit-specific-groups', parameters: { groups: ['staff'] } }));

    await cli('user', 'add', 'alice', '--email', 'alice@example.org', '--group', 'staff', '--password-file', passwordFile);
    await cli('user', 'update', 'alice', '--name', 'Alice Doe', '--remove-group', 'staff');
    await cli('user', 'set-password', 'alice', '--password-file', nextPasswordFile, '--must-change');
    await cli('user', 'disable', 'alice');
    await cli('user', 'enable', 'alice');
    await cli('user', 'unlock', 'alice');
    await cli('policy', 'set', '--file', policyFile);
    await cli('sp', 'add', 'metadata/sp/demo-sp.xml', '--name', 'Demo app', '--policy', 'staff-only');
    await cli('sp', 'set', DEMO_SP, '--sign', 'response');
    const added = await cli('client', 'add', '--name', 'Wiki', '--redirect-uri', 'https://wiki.example.org/cb');
    const clientId = /client_id:\s+(\S+)/.exec(added.out)![1]!;
    const firstSecret = /client_secret: (\S+)/.exec(added.out)![1]!;
    const rotated = await cli('client', 'set', clientId, '--rotate-secret', '--scopes', 'openid email');
    const secondSecret = /client_secret:\s+(\S+)/.exec(rotated.out)![1]!;
    await cli('client', 'remove', clientId);
    await cli('sp', 'remove', DEMO_SP);
    await cli('policy', 'remove', 'staff-only');
    await cli('user', 'remove', 'alice');

    const read = await cli('audit', '--json', '--since', '1h', '--limit', '1000');
    const events = read.out.split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const pick = ({ type, username, rp, policy, changed, secretRotated, mustChange }: Record<string, unknown>) => ({ type, username, rp, policy, changed, secretRotated, mustChange });
    assert.deepEqual(events.map(pick), [
      { type: 'user.add', username: 'alice', rp: undefined, policy: undefined, changed: ['email', 'addGroups', 'password'], secretRotated: undefined, mustChange: undefined },
      { type: 'user.update', username: 'alice', rp: undefined, policy: undefined, changed: ['name', 'removeGroups'], secretRotated: undefined, mustChange: undefined },
      { type: 'user.set-password', username: 'alice', rp: undefined, policy: undefined, changed: undefined, secretRotated: undefined, mustChange: true },
      { type: 'user.disable', username: 'alice', rp: undefined, policy: undefined, changed: undefined, secretRotated: undefined, mustChange: undefined },
      { type: 'user.enable', username: 'alice', rp: undefined, policy: undefined, changed: undefined, secretRotated: undefined, mustChange: undefined },
      { type: 'password.unlock', username: 'alice', rp: undefined, policy: undefined, changed: undefined, secretRotated: undefined, mustChange: undefined },
      { type: 'policy.set', username: undefined, rp: undefined, policy: 'staff-only', changed: undefined, secretRotated: undefined, mustChange: undefined },
      { type: 'sp.add', username: undefined, rp: DEMO_SP, policy: 'staff-only', changed: undefined, secretRotated: undefined, mustChange: undefined },
      { type: 'sp.set', username: undefined, rp: DEMO_SP, policy: undefined, changed: ['wantAssertionsSigned'], secretRotated: undefined, mustChange: undefined },
      { type: 'client.add', username: undefined, rp: clientId, policy: undefined, changed: undefined, secretRotated: undefined, mustChange: undefined },
      { type: 'client.set', username: undefined, rp: clientId, policy: undefined, changed: ['scopes'], secretRotated: true, mustChange: undefined },
      { type: 'client.remove', username: undefined, rp: clientId, policy: undefined, changed: undefined, secretRotated: undefined, mustChange: undefined },
      { type: 'sp.remove', username: undefined, rp: DEMO_SP, policy: undefined, changed: undefined, secretRotated: undefined, mustChange: undefined },
      { type: 'policy.remove', username: undefined, rp: undefined, policy: 'staff-only', changed: undefined, secretRotated: undefined, mustChange: undefined },
      { type: 'user.remove', username: 'alice', rp: undefined, policy: undefined, changed: undefined, secretRotated: undefined, mustChange: undefined },
    ]);
    for (const event of events) {
      assert.equal(event['via'], 'cli');
      assert.equal(event['osUser'], userInfo().username);
      assert.equal(event['outcome'], 'success');
    }
    const people = await cli('audit', '--type', 'user.add');
    assert.match(people.out, /  user\.add  success  alice  changed=email,addGroups,password commandId=[0-9a-f-]{36} osUser=\S+ userId=\S+ via=cli$/, 'a list of field names reads as a,b');
    const log = await readFile(join(app.dataDir, 'audit.log'), 'utf8');
    for (const secret of [password, nextPassword, firstSecret, secondSecret]) assert.ok(!log.includes(secret), 'no password or client secret in the audit log');
  } finally {
    await app.close();
    await rm(work, { recursive: true, force: true });
  }
});

test('user add with a password the rules refuse adds nothing, and adding it again is refused in one line: no user, no event', async () => {
  const app = await boot({}, { secretKey: SECRET_KEY });
  const work = await mkdtemp(join(tmpdir(), 'stepgate-user-add-'));
  try {
    const [shortFile, goodFile] = [join(work, 'short.pw'), join(work, 'good.pw')];
    await writeFile(shortFile, 'short\n');
    await writeFile(goodFile, 'a-long-Passw0rd-1\n');
    const refused = await cliProcess(app, SECRET_KEY, ['user', 'add', 'carol', '--email', 'carol@example.org', '--password-file', shortFile]);
    assert.deepEqual(refused, { code: 1, out: '', err: 'Password refused: It must be at least 12 characters long. It must contain a digit.' });
    assert.equal((await cliProcess(app, SECRET_KEY, ['user', 'list'])).out, '', 'no carol without a password');
    assert.deepEqual((await app.services.store.audit.query({ limit: 10 })).events.map((event) => event.type), []);

    assert.equal((await cliProcess(app, SECRET_KEY, ['user', 'add', 'carol', '--password-file', goodFile])).code, 0, 'the same name, once the password is right');
    assert.deepEqual(await cliProcess(app, SECRET_KEY, ['user', 'add', 'carol', '--password-file', goodFile]), { code: 1, out: '', err: 'user carol already exists' });
    assert.deepEqual((await app.services.store.audit.query({ limit: 10 })).events.map((event) => event.type), ['user.add']);
  } finally {
    await app.close();
    await rm(work, { recursive: true, force: true });
  }
});

test('a change made through sudo names, beside the account it ran as, who ran sudo; one made without sudo names no one else', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-sudo-audit-'));
  try {
    const policyFile = join(dataDir, 'policy.json');
    const { SUDO_USER: _user, SUDO_UID: _uid, SUDO_GID: _gid, SUDO_COMMAND: _command, ...env } = withoutSecretKey();
    // What sudo sets for the command it runs: the environment is all the CLI can know of it.
    for (const [run, sudo] of [{ SUDO_USER: 'alice', SUDO_UID: '1000', SUDO_GID: '1000', SUDO_COMMAND: '/usr/bin/npm run cli' }, {}].entries()) {
      // Another definition each time: the same one again changes nothing, and is not audited.
      await writeFile(policyFile, JSON.stringify({ name: 'staff-only', template: 'permit-specific-groups', parameters: { groups: ['staff', `team-${run}`] } }));
      const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', new URL('../../src/cli/index.ts', import.meta.url).pathname, 'policy', 'set', '--file', policyFile], { env: { ...env, ...sudo, STEPGATE_DATA_DIR: dataDir }, stdio: ['ignore', 'pipe', 'pipe'] });
      const output = captureOutput(child);
      assert.equal(await waitForExit(child, { what: 'cli policy set', output }), 0, output());
    }
    const events = (await readFile(join(dataDir, 'audit.log'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const who = ({ type, osUser, sudoUser, sudoUid }: Record<string, unknown>) => ({ type, osUser, sudoUser, sudoUid });
    assert.deepEqual(events.map(who), [
      { type: 'policy.set', osUser: userInfo().username, sudoUser: 'alice', sudoUid: 1000 },
      { type: 'policy.set', osUser: userInfo().username, sudoUser: undefined, sudoUid: undefined },
    ]);
    assert.ok(!('sudoUser' in events[1]!), 'no empty field without sudo');
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
