import { cliInProcess } from '../helpers/cli.ts';
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { COMMANDS } from '../../src/cli/commands/all.ts';
import { buildPolicies } from '../../src/policy/build-policies.ts';
import { parseConfig } from '../../src/config/load.ts';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import { journalSealer } from '../../src/store/journal-sealer.ts';
import { SecretBox } from '../../src/core/secret-box.ts';
import { systemClock } from '../../src/core/clock.ts';
import { randomId } from '../../src/core/ids.ts';
import { buildMfa } from '../../src/mfa/build-mfa.ts';
import { localUsers } from '../../src/directory/local-users.ts';
import { clientRegistry } from '../../src/oidc/client-registry.ts';
import { createSpRegistry } from '../../src/saml/sp-registry.ts';
import { SessionAdmin } from '../../src/cli/session-admin.ts';
import type { CliContext } from '../../src/cli/command.ts';
import type { Store } from '../../src/store/store.ts';

const DEMO_SP = fileURLToPath(new URL('../../metadata/sp/demo-sp.xml', import.meta.url));
const GOOD_PASSWORD = 'a-long-Passw0rd!x';
const EXPORT_PASSWORD = 'export password 42';
const TOTP = { digits: 6, periodSeconds: 30, algorithm: 'sha1' } as const;

describe('the admin CLI does what was typed, or refuses it', () => {
  let dir: string;
  let files: string;
  let store: Store;
  const box = new SecretBox(randomBytes(32));
  const config = () => parseConfig({ dataDir: dir });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stepgate-cli-strict-'));
    files = join(dir, 'files');
    await mkdir(files);
    store = await new LowdbStore(dir, systemClock, { sealer: journalSealer(box) }).open();
  });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const cli = (...words: string[]) => cliInProcess({ config, store: async () => store, box: () => box, clock: systemClock }, words);
  async function file(name: string, text: string): Promise<string> {
    const path = join(files, name);
    await writeFile(path, text, { mode: 0o600 });
    return path;
  }
  const user = async (name: string) => (await localUsers(store).list()).find((record) => record.username === name);
  const auditTypes = async () => (await store.audit.query({ limit: 1000 })).events.map((event) => `${event.type} ${event.outcome}`);
  const mfa = () => buildMfa(config(), store, box, systemClock);

  /** Exit 2, a message that names the problem, and nothing written. */
  async function assertUsageError(words: string[], message: RegExp): Promise<void> {
    const users = JSON.stringify(await localUsers(store).list());
    const clients = (await clientRegistry(store, box, systemClock).list()).length;
    const sps = (await createSpRegistry(store, systemClock).list()).length;
    const result = await cli(...words);
    assert.equal(result.code, 2, words.join(' '));
    assert.match(result.err, message, words.join(' '));
    assert.equal(JSON.stringify(await localUsers(store).list()), users, `${words.join(' ')}: no user changed`);
    assert.equal((await clientRegistry(store, box, systemClock).list()).length, clients, `${words.join(' ')}: no client added`);
    assert.equal((await createSpRegistry(store, systemClock).list()).length, sps, `${words.join(' ')}: no SP added`);
  }

  test('user add and user update refuse a username or email that is already another user\'s sign-in name, as config import does', async () => {
    assert.equal((await cli('user', 'add', 'alice', '--email', 'alice@example.org')).code, 0);
    const taken = await cli('user', 'add', 'eve', '--email', 'Alice@Example.org');
    assert.equal(taken.code, 1);
    assert.match(taken.err, /"alice@example\.org" is already the username or email of alice/);
    assert.equal(await user('eve'), undefined);
    assert.equal((await cli('user', 'add', 'ops@example.org')).code, 0);
    const byUsername = await cli('user', 'add', 'bob', '--email', 'OPS@example.org');
    assert.equal(byUsername.code, 1);
    assert.match(byUsername.err, /"ops@example\.org" is already the username or email of ops@example\.org/);
    assert.equal(await user('bob'), undefined);
    assert.equal((await cli('user', 'add', 'carol', '--email', 'carol@example.org')).code, 0);
    const update = await cli('user', 'update', 'carol', '--email', 'ALICE@example.org');
    assert.equal(update.code, 1);
    assert.match(update.err, /"alice@example\.org" is already the username or email of alice/);
    assert.equal((await user('carol'))!.email, 'carol@example.org');
    assert.equal((await cli('user', 'update', 'carol', '--email', 'Carol@Example.org')).code, 0, 'a user may keep (or recase) their own email');
  });

  test('user update checks the password before it writes anything', async () => {
    const weak = await file('weak.pw', 'x\n');
    const before = await user('carol');
    const result = await cli('user', 'update', 'carol', '--email', 'carol2@example.org', '--password-file', weak);
    assert.equal(result.code, 1);
    assert.match(result.err, /Password refused/);
    assert.deepEqual(await user('carol'), before);
  });

  test('every value of a repeated list option is kept', async () => {
    assert.equal((await cli('user', 'add', 'dave', '--group', 'a', '--group', 'b,c', '--attribute', 'dept=x', '--attribute', 'site=y', '--attribute', 'dept=z')).code, 0);
    const dave = (await user('dave'))!;
    assert.deepEqual(dave.groups, ['a', 'b', 'c']);
    assert.deepEqual(dave.attributes, { dept: ['x', 'z'], site: ['y'] });
    assert.equal((await cli('user', 'update', 'dave', '--remove-group', 'a', '--remove-group', 'c')).code, 0);
    assert.deepEqual((await user('dave'))!.groups, ['b']);
  });

  test('a group name with spaces is one group, as a directory holds it', async () => {
    assert.equal((await cli('user', 'add', 'hugo', '--group', 'Sales EMEA', '--group', 'IT Admins, staff')).code, 0);
    assert.deepEqual((await user('hugo'))!.groups, ['IT Admins', 'Sales EMEA', 'staff']);
    assert.equal((await cli('user', 'update', 'hugo', '--remove-group', 'IT Admins')).code, 0);
    assert.deepEqual((await user('hugo'))!.groups, ['Sales EMEA', 'staff']);
  });

  test('--remove-group takes away the group as policies name it, in any ASCII case and spacing, or refuses', async () => {
    assert.equal((await cli('user', 'add', 'ivan', '--group', 'Admins', '--group', 'Sales  EMEA', '--group', 'staff')).code, 0);
    assert.equal((await cli('user', 'update', 'ivan', '--remove-group', 'admins', '--remove-group', ' sales emea ')).code, 0);
    assert.deepEqual((await user('ivan'))!.groups, ['staff']);
    // Every spelling a policy takes for the one group goes: one left behind would keep the access.
    assert.equal((await cli('user', 'add', 'ivana', '--group', 'Admins,admins, ADMINS ,staff')).code, 0);
    assert.equal((await cli('user', 'update', 'ivana', '--remove-group', 'admins')).code, 0);
    assert.deepEqual((await user('ivana'))!.groups, ['staff']);
    const missing = await cli('user', 'update', 'ivan', '--remove-group', 'staf', '--name', 'Ivan');
    assert.equal(missing.code, 1);
    assert.match(missing.err, /ivan is not in group "staf" \(their groups: "staff"\): nothing was changed/);
    assert.deepEqual([(await user('ivan'))!.groups, (await user('ivan'))!.name], [['staff'], undefined]);
  });

  test('a group both given and removed in one command is refused whichever comes first, naming it, and nothing changes', async () => {
    assert.equal((await cli('user', 'add', 'karl', '--group', 'staff')).code, 0);
    for (const words of [['--group', 'Admins', '--remove-group', 'admins'], ['--remove-group', 'staff', '--group', 'STAFF', '--name', 'Karl']]) {
      const both = await cli('user', 'update', 'karl', ...words);
      assert.equal(both.code, 1, both.out);
      assert.match(both.err, /"(Admins|STAFF)": both given and removed in one change \(--group and --remove-group\): say which; nothing was changed/);
      assert.deepEqual([(await user('karl'))!.groups, (await user('karl'))!.name], [['staff'], undefined]);
    }
  });

  test('--remove-group refusing a group the user is not in quotes each group as user add prints them: a quote or a backslash in a name cannot pass for the end of it', async () => {
    assert.equal((await cli('user', 'add', 'jana', '--group', 'a"\\, "b', '--group', 'CORP\\\\Sales')).code, 0);
    const missing = await cli('user', 'update', 'jana', '--remove-group', 'b');
    assert.equal(missing.code, 1);
    assert.ok(missing.err.includes('jana is not in group "b" (their groups: "CORP\\\\Sales", "a\\", \\"b"): nothing was changed'), missing.err);
  });

  test('misspelt options, values given to flags, missing values and extra arguments are usage errors that name them', async () => {
    const pw = await file('good.pw', `${GOOD_PASSWORD}\n`);
    await assertUsageError(['user', 'add', 'frank', '--pasword-file', pw], /unknown option --pasword-file/);
    await assertUsageError(['user', 'add', 'frank', '--must-change', 'yes'], /--must-change takes no value \(unexpected argument "yes"\)/);
    await assertUsageError(['user', 'add', 'frank', '--one-time', 'true'], /--one-time takes no value/);
    await assertUsageError(['user', 'add', 'frank', '--one-time=true'], /--one-time takes no value/);
    await assertUsageError(['user', 'add', 'frank', '--email'], /--email needs a value/);
    await assertUsageError(['user', 'add', 'frank', '--email', '--one-time'], /--email needs a value/);
    await assertUsageError(['user', 'add', 'frank', '--name', 'A', '--name', 'B'], /--name is given twice/);
    await assertUsageError(['user', 'add'], /<username> is required/);
    await assertUsageError(['user', 'disable', 'alice', 'carol'], /unexpected argument "carol"/);
    await assertUsageError(['user', 'list', 'everyone'], /unexpected argument "everyone"/);
    await assertUsageError(['client', 'add', '--name', 'X', '--redirect-uri', 'https://x.example/cb', '--plicy', 'deny-everyone'], /unknown option --plicy/);
    await assertUsageError(['client', 'add', '--name', 'X', '--redirect-uri', 'https://x.example/cb', '--public', 'yes'], /--public takes no value/);
    await assertUsageError(['sp', 'add', DEMO_SP, 'extra'], /unexpected argument "extra"/);
    await assertUsageError(['sp', 'add', DEMO_SP, '--no-encrypt', 'yes'], /--no-encrypt takes no value/);
    await assertUsageError(['sp', 'remove', 'http://localhost:3000/saml/metadata', 'extra'], /unexpected argument "extra"/);
    await assertUsageError(['mfa', 'list', '--serach', 'a*'], /unknown option --serach/);
    await assertUsageError(['session', 'list', '--usr', 'alice'], /unknown option --usr/);
    await assertUsageError(['directory', 'test', '--usr', 'alice'], /unknown option --usr/);
    await assertUsageError(['policy', 'explain', '--user', 'alice', '--policy', 'permit-everyone', '--bogus'], /unknown option --bogus/);
    assert.equal(await user('frank'), undefined);
  });

  test('every command declares its options and arguments', () => {
    for (const command of COMMANDS) {
      assert.equal(typeof command.options, 'object', command.name);
      assert.ok(Array.isArray(command.arguments), command.name);
      for (const name of Object.keys(command.options)) assert.match(command.help, new RegExp(`--${name}\\b`), `${command.name}: --${name} is in its help`);
    }
  });

  test('every option a command\'s help lists in its options is one the command takes', () => {
    // A listed option the command does not take is refused as unknown (exit 2) when typed as the help says.
    for (const command of COMMANDS) {
      for (const [, listed] of command.help.matchAll(/^ {2}(--[a-z][a-z-]*(?:[ ,/|]+--[a-z][a-z-]*)*)/gm)) {
        for (const [, name] of listed!.matchAll(/--([a-z][a-z-]*)/g)) assert.ok(name! in command.options, `${command.name} takes --${name}, which its help lists`);
      }
    }
  });

  test('"--" ends the options, so an id that starts with "--" can be given', async () => {
    const added = await clientRegistry(store, box, systemClock).add({ name: 'Dashes', redirectUris: ['https://d.example/cb'] });
    assert.ok(added.ok);
    // Ids this installation makes never start with "-"; one from elsewhere (or from before) may.
    const id = `--${added.client.id.slice(2)}`;
    await store.collection(('oidc-clients')).put({ ...added.client, id });
    assert.equal((await cli('client', 'show', id)).code, 2, 'without the marker it is an option');
    const shown = await cli('client', 'show', '--', id);
    assert.equal(shown.code, 0, shown.err);
    assert.match(shown.out, /name:\s+Dashes/);
    assert.equal((await cli('client', 'remove', '--', id, '--help')).code, 2, 'after "--", even --help is an argument');
  });

  test('generated ids and session handles never start with "-"', async () => {
    for (let i = 0; i < 20_000; i++) assert.ok(!randomId(12).startsWith('-'));
    const sessions = await SessionAdmin.open({ config: config(), store: async () => store, box: () => box, clock: systemClock, commandId: 'test', out() {}, err() {} } satisfies CliContext);
    let checked = 0;
    for (let i = 0; checked < 5; i++) {
      const id = `session-${i}`;
      if (!box.mac('session-handle', id).startsWith('-')) continue;
      const handle = sessions.handle({ id } as Parameters<SessionAdmin['handle']>[0]);
      assert.ok(!handle.startsWith('-') && handle.length === 12, handle);
      checked++;
    }
  });

  test('user remove also removes the TOTP registration, backup codes and TOTP state', async () => {
    assert.equal((await cli('user', 'add', 'gina')).code, 0);
    const gina = (await user('gina'))!;
    await mfa().enrollments.put(gina.id, 'gina', 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', TOTP, Date.now());
    assert.match((await cli('mfa', 'list', '--search', 'gina')).out, /gina\s+Active/);
    assert.equal((await cli('user', 'remove', 'gina')).code, 0);
    assert.equal(await mfa().enrollments.get(gina.id), undefined);
    assert.match((await cli('mfa', 'list', '--search', 'gina')).out, /no matching users/);
    assert.equal((await cli('user', 'add', 'gina')).code, 0);
    assert.match((await cli('mfa', 'list', '--search', 'gina')).out, /gina\s+Unregistered/);
  });

  test('mfa export and import are audited, skip users that do not exist here, and say clearly why a file cannot be written', async () => {
    const alice = (await user('alice'))!;
    await mfa().enrollments.put(alice.id, 'alice', 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', TOTP, Date.now());
    await mfa().enrollments.put('id-of-nobody-here', 'ghost', 'KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU', TOTP, Date.now());
    const pw = await file('export.pw', `${EXPORT_PASSWORD}\n`);
    const out = join(files, 'totp.export');
    assert.equal((await cli('mfa', 'export', '--out', out, '--password-file', pw)).code, 0);
    const missingFolder = await cli('mfa', 'export', '--out', join(files, 'no-such-folder', 'x'), '--password-file', pw);
    assert.equal(missingFolder.code, 1);
    assert.match(missingFolder.err, /cannot write .*no-such-folder\/x: its folder does not exist/);
    assert.doesNotMatch(missingFolder.err, /ENOENT/);

    await mfa().totpAdmin.reset('id-of-nobody-here');
    const imported = await cli('mfa', 'import', '--in', out, '--password-file', pw, '--replace');
    assert.equal(imported.code, 0, imported.err);
    assert.match(imported.err, /not imported, no such user here: ghost \(id id-of-nobody-here\)/);
    assert.match(imported.out, /Imported 1 TOTP registration\./);
    assert.equal(await mfa().enrollments.get('id-of-nobody-here'), undefined);

    const wrong = await file('wrong.pw', 'another export password');
    assert.equal((await cli('mfa', 'import', '--in', out, '--password-file', wrong)).code, 1);
    const types = await auditTypes();
    for (const event of ['mfa.export success', 'mfa.export failure', 'mfa.import success', 'mfa.import failure']) assert.ok(types.includes(event), `${event} in ${types.join(', ')}`);
  });

  test('passwords: trailing line breaks are not part of them; trivially weak export passwords are refused', async () => {
    const pw = await file('crlf.pw', `${GOOD_PASSWORD}\r\n\n`);
    assert.equal((await cli('user', 'add', 'hank', '--password-file', pw)).code, 0);
    const tried = await localUsers(store).list();
    assert.ok(tried.find((record) => record.username === 'hank')!.passwordHash);
    const sameWithout = await file('plain.pw', GOOD_PASSWORD);
    const reuse = await cli('user', 'set-password', 'hank', '--password-file', sameWithout);
    assert.equal(reuse.code, 1, 'the same password without the line breaks is the one already set');
    assert.match(reuse.err, /previous passwords/);
    const weak = await file('weak-export.pw', 'abababababababab');
    await assertUsageError(['config', 'export', '--out', join(files, 'weak.export'), '--password-file', weak], /too easy to guess: use at least 6 different characters/);
    await assertUsageError(['mfa', 'export', '--out', join(files, 'weak.export'), '--password-file', weak], /too easy to guess/);
  });

  test('--password-stdin refuses a terminal, which would echo the password', async () => {
    const cliEntry = fileURLToPath(new URL('../../src/cli/index.ts', import.meta.url));
    const command = `'${process.execPath}' --disable-warning=ExperimentalWarning '${cliEntry}' user add tty --password-stdin; echo "exit=$?"`;
    const dataDir = join(dir, 'tty-data');
    const run = spawnSync('script', ['-qc', command, '/dev/null'], { env: { ...process.env, STEPGATE_DATA_DIR: dataDir }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    // script(1) (bsdutils, a listed system dependency) gives the CLI a pseudo-terminal as its stdin
    assert.equal(run.error, undefined, `script(1): ${run.error?.message}`);
    assert.match(run.stdout, /--password-stdin reads a pipe .* not a terminal/);
    assert.match(run.stdout, /exit=2/);
  });

  test('application names with control characters are refused', async () => {
    await assertUsageError(['client', 'add', '--name', 'Evil\u001b[2J', '--redirect-uri', 'https://x.example/cb'], /--name must not contain control characters/);
    await assertUsageError(['sp', 'add', DEMO_SP, '--name', 'two\nlines'], /--name must not contain control characters/);
    const client = (await clientRegistry(store, box, systemClock).list())[0]!;
    await assertUsageError(['client', 'set', client.id, '--name', 'bell\u0007'], /--name must not contain control characters/);
  });

  test('sp add of a folder says so, without a raw EISDIR', async () => {
    const result = await cli('sp', 'add', files);
    assert.equal(result.code, 1);
    assert.match(result.err, /is a folder, not a metadata file/);
  });
  test('policy remove refuses a policy applications still name (naming them) unless --force; names differing only in case are refused', async () => {
    const policyFile = await file('lab-only.json', JSON.stringify({ name: 'lab-only', template: 'permit-specific-groups', parameters: { groups: ['lab'] } }));
    assert.equal((await cli('policy', 'set', '--file', policyFile)).code, 0);
    const added = await cli('client', 'add', '--name', 'Lab wiki', '--redirect-uri', 'https://lab.example.org/cb', '--policy', 'lab-only');
    assert.equal(added.code, 0, added.err);
    const refused = await cli('policy', 'remove', 'lab-only');
    assert.equal(refused.code, 1);
    assert.match(refused.err, /"lab-only" is the policy of OIDC client .* \(Lab wiki\)/);
    assert.ok(await buildPolicies(config(), store, systemClock).policies.definition('lab-only'), 'still there');

    const lookalike = await file('Lab-Only.json', JSON.stringify({ name: 'Lab-Only', template: 'permit-everyone' }));
    const clash = await cli('policy', 'set', '--file', lookalike);
    assert.equal(clash.code, 1);
    assert.match(clash.err, /differs from the existing policy "lab-only" only in case/);

    assert.equal((await cli('policy', 'remove', 'lab-only', '--force')).code, 0);
    assert.equal(await buildPolicies(config(), store, systemClock).policies.definition('lab-only'), undefined);
  });
  test('--attribute names must be attribute names: constructor and __proto__ are refused, not a crash', async () => {
    for (const name of ['__proto__', 'bad name']) {
      await assertUsageError(['user', 'add', 'attr-user', '--attribute', `${name}=x`], /is not an attribute name/);
    }
    const added = await cli('user', 'add', 'attr-user', '--attribute', 'constructor=x', '--attribute', 'department=lab');
    assert.equal(added.code, 0, added.err);
    assert.deepEqual((await user('attr-user'))?.attributes, { constructor: ['x'], department: ['lab'] });
  });
  test('user add takes no --remove-group (a new user is in no group): refused, and not in its help', async () => {
    await assertUsageError(['user', 'add', 'new-user', '--remove-group', 'staff'], /unknown option --remove-group/);
    const help = await cli('user', 'add', '--help');
    assert.doesNotMatch(help.out, /--remove-group/);
    assert.match((await cli('user', 'update', '--help')).out, /--remove-group/);
  });
  test('a group name may hold a comma, written \\, (a backslash \\\\); another backslash is a usage error that says how to write it', async () => {
    const added = await cli('user', 'add', 'sales-rep', '--group', 'Sales\\, EMEA', '--group', 'CORP\\\\Sales, staff,', '--group', ' , ');
    assert.equal(added.code, 0, added.err);
    assert.deepEqual((await user('sales-rep'))!.groups, ['CORP\\Sales', 'Sales, EMEA', 'staff'], 'a comma with no name beside it adds no empty group');
    assert.match(added.out, /^Groups: "CORP\\\\Sales", "Sales, EMEA", "staff"$/m);
    assert.match((await cli('user', 'list')).out, /^sales-rep +active +\["CORP\\\\Sales", "Sales, EMEA", "staff"\]$/m, 'user list quotes each group too');
    await assertUsageError(['user', 'add', 'slash-user', '--group', 'CORP\\Sales'], /--group "CORP\\Sales": a backslash in a group name is written \\\\, and a comma that is part of the name \\, \(other commas separate names\); in the shell, in single quotes: 'CORP\\\\Sales' if each backslash is part of a name/);
    await assertUsageError(['user', 'update', 'sales-rep', '--remove-group', 'staff\\'], /--remove-group "staff\\": a backslash in a group name is written \\\\/);
    const removed = await cli('user', 'update', 'sales-rep', '--remove-group', 'sales\\, emea,corp\\\\sales');
    assert.equal(removed.code, 0, removed.err);
    assert.deepEqual((await user('sales-rep'))!.groups, ['staff']);
    assert.match(removed.out, /^Updated sales-rep\.\nGroups: "staff"$/);
    assert.match((await cli('user', 'update', 'sales-rep', '--remove-group', 'staff')).out, /^Groups: none$/m);
  });

  test('a group name with control, invisible or text-direction characters is refused, naming them; --remove-group still takes one away', async () => {
    for (const [group, named] of [['contr\u200Bactors', 'U+200B'], ['contractors\u200B', 'U+200B'], ['\u202Econtractors', 'U+202E'], ['contractors\u00AD', 'U+00AD'], ['contr\nactors', 'U+000A'], ['contr\tactors', 'U+0009'], ['contr\u200Dactors', 'U+200D'], ['con\u034Ftractors', 'U+034F'], ['contractors\u2800', 'U+2800']]) {
      const refused = await cli('user', 'add', 'lookalike', '--group', 'staff', '--group', group!);
      assert.equal(refused.code, 1, JSON.stringify(group));
      assert.ok(refused.err.includes(`the group ${JSON.stringify(group).replace(/[\u00AD\u034F\u200B\u200D\u202E]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`)} contains ${named}: control, invisible and text-direction characters are not allowed in a group name`), refused.err);
      assert.equal(await user('lookalike'), undefined, JSON.stringify(group));
    }
    // Joiners between two non-ASCII characters are part of how Persian words and emoji sequences are written.
    const joined = await cli('user', 'add', 'joiner-user', '--group', 'می\u200Cخواهم', '--group', '👩\u200D💻');
    assert.equal(joined.code, 0, joined.err);

    await localUsers(store).update((await user('joiner-user'))!.id, (record) => ({ ...record, groups: [...record.groups, 'contr\u200Bactors', 'lab\tstaff'] }));
    const update = await cli('user', 'update', 'joiner-user', '--remove-group', 'contr\u200Bactors', '--remove-group', 'lab\tstaff');
    assert.equal(update.code, 0, update.err);
    assert.deepEqual((await user('joiner-user'))!.groups, ['می\u200Cخواهم', '👩\u200D💻']);
    assert.match(update.out, /^Groups: "می\\u200Cخواهم", "👩\\u200D💻"$/m, 'each quoted, the joiners shown');
  });
});
