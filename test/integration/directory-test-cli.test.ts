import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { fixtureLdif } from '../helpers/ldap-directory.ts';
import { runCli } from '../../src/cli/run-cli.ts';
import { directoryCommands } from '../../src/cli/commands/directory.ts';
import { parseConfig } from '../../src/config/load.ts';
import { systemClock } from '../../src/core/clock.ts';

// `directory test --user` must tell an administrator whether the user can sign in: the attributes
// sign-ins map (a missing id fails every sign-in), and with a password file, the real sign-in.
const PEOPLE = 'ou=people,dc=example,dc=org';
const ALICE_ID = '5a1e0000-0000-4000-8000-000000000001';
const pw = (uid: string): string => `Passw0rd!${uid}`;

let slapd: SlapdHandle;
let dir: string;

before(async () => {
  [slapd, dir] = await Promise.all([fixtureLdif().then((ldif) => startSlapd({ ldif, monitor: false })), mkdtemp(join(tmpdir(), 'stepgate-directory-test-'))]);
});

after(async () => {
  await slapd?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function passwordFile(password: string): Promise<string> {
  const path = join(dir, `pw-${Math.random().toString(36).slice(2)}`);
  await writeFile(path, `${password}\n`, { mode: 0o600 });
  return path;
}

async function directoryTest(words: string[], users: Record<string, unknown> = {}): Promise<{ code: number; out: string; err: string }> {
  const config = parseConfig({
    dataDir: join(dir, 'data'),
    directory: { kind: 'ldap', urls: [slapd.url], connectTimeoutMs: 2000, bind: { dn: slapd.serviceDn, password: slapd.servicePassword }, users: { baseDn: PEOPLE, ...users } },
  });
  const out: string[] = [];
  const err: string[] = [];
  const unused = (): never => assert.fail('directory test needs no store or secret key');
  const code = await runCli(directoryCommands, ['directory', 'test', ...words], { config: () => config, store: unused, box: unused, clock: systemClock, out: (line) => out.push(line), err: (line) => err.push(line) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const line = (out: string, step: string): string => out.split('\n').find((l) => l.slice(6).startsWith(`${step} `)) ?? `<no ${step} line>`;

test('user-lookup shows the id, username, name and email sign-ins will use', async () => {
  const { code, out } = await directoryTest(['--user', 'alice']);
  // The fixture holds both kinds of group: alice's groupOfUniqueNames (auditors) is warned of, as sign-ins do not read it.
  assert.equal(code, 1, out);
  assert.deepEqual(out.split('\n').filter((l) => !l.startsWith('ok ')).map((l) => l.split(/ +/).slice(0, 2).join(' ')), ['WARN groups'], out);
  assert.match(line(out, 'groups'), /uniqueMember of "auditors"/);
  assert.match(line(out, 'user-lookup'), new RegExp(`^ok +user-lookup +found uid=alice,${PEOPLE}: id ${ALICE_ID}, username alice, name Alice Adams, email alice@example\\.org `));
});

test('an id attribute the entry does not have fails user-lookup, naming users.idAttribute', async () => {
  const { code, out } = await directoryTest(['--user', 'alice', '--password-file', await passwordFile(pw('alice'))], { idAttribute: 'employeeNumber' });
  assert.equal(code, 1);
  assert.match(line(out, 'user-lookup'), /^FAIL +user-lookup +found uid=alice,.* has no employeeNumber \(users\.idAttribute\)/);
  assert.ok(!out.includes('password '), 'no step runs after a failed one');
});

test("--password-file signs in as the user would and says how it went, never showing the password", async () => {
  const cases: Array<[user: string, password: string, code: number, expected: RegExp]> = [
    // 1: alice's groups step warns of her groupOfUniqueNames (see above)
    ['alice', pw('alice'), 1, /^ok +password +password right, account ok /],
    ['bob', 'not-the-password', 1, /^FAIL +password +invalid credentials: wrong password /],
    ['expired', pw('expired'), 1, /^FAIL +password +password right, but the password has expired/],
    ['mustchange', pw('mustchange'), 1, /^FAIL +password +password right, but the password must be changed first /],
    ['marked-disabled', pw('marked-disabled'), 1, /^FAIL +password +password right, but the account is disabled /],
    ['marked-locked', pw('marked-locked'), 1, /^FAIL +password +password right, but the account is locked /],
    // slapd with ppolicy_use_lockout refuses a locked account before it checks the password
    ['locked', pw('locked'), 1, /^FAIL +password +invalid credentials: the directory refuses the account without checking the password \(locked or disabled there\) /],
  ];
  for (const [user, password, code, expected] of cases) {
    const run = await directoryTest(['--user', user, '--password-file', await passwordFile(password)]);
    assert.equal(run.code, code, `${user}: ${run.out}`);
    assert.match(line(run.out, 'password'), expected, user);
    assert.ok(!`${run.out}${run.err}`.includes(password), `${user}: the password is never printed`);
  }
});

test('a password on the command line is refused, and so is a password without a user', async () => {
  const inline = await directoryTest(['--user', 'alice', '--password', pw('alice')]);
  assert.equal(inline.code, 2);
  assert.match(inline.err, /--password is not accepted on the command line; use --password-file FILE or --password-stdin/);
  const noUser = await directoryTest(['--password-file', await passwordFile(pw('alice'))]);
  assert.equal(noUser.code, 2);
  assert.match(noUser.err, /give --user too/);
});
