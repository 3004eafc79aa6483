import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { runCli } from '../../src/cli/run-cli.ts';
import { COMMANDS } from '../../src/cli/commands/all.ts';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import { journalSealer } from '../../src/store/journal-sealer.ts';
import type { Store } from '../../src/store/store.ts';

// A suite run through sudo: the CLI would add who ran sudo (sudoUser) to the events these tests expect in full.
delete process.env['SUDO_USER'];
delete process.env['SUDO_UID'];

const PASSWORD = 'Correct-horse-42';
const RP = 'audit-app';
let now = Date.parse('2026-11-22T10:00:00Z');
const clock = { now: () => now };
let app: Booted;
let aliceId: string;
/** The admin CLI's own store on the server's data directory, as `npm run cli` opens it. */
let cliStore: Store;

async function cli(...words: string[]): Promise<{ code: number; out: string[]; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const { services } = app;
  const code = await runCli(COMMANDS, words, { config: () => services.config, store: async () => cliStore, box: () => services.box, clock, out: (line) => out.push(line), err: (line) => err.push(line) });
  return { code, out, err: err.join('\n') };
}

/** One password POST on a fresh sign-in page, from `ip` (the server trusts the loopback proxy): true when signed in. */
async function postPassword(username: string, password: string, ip: string): Promise<boolean> {
  const browser = new TestBrowser();
  const tx = await app.services.interaction.deps.transactions.create({ protocol: 'oidc', rpId: RP, rpName: 'Audit App', rp: { allowPasswordChange: false }, handoff: { finisher: 'test', ref: '' }, forceAuthn: false, passive: false });
  const page = await browser.get(`${app.url}/login/${tx.id}`);
  const answer = await browser.submit(page, { username, password }, undefined, { 'x-forwarded-for': ip });
  return answer.url.includes(`/resume?tx=${tx.id}`);
}

async function storedLines(): Promise<string[]> {
  return (await readFile(join(app.dataDir, 'audit.log'), 'utf8')).split('\n').filter(Boolean);
}

before(async () => {
  app = await boot({ server: { trustedProxies: ['127.0.0.1/32'] }, directory: { kind: 'local' } }, { clock });
  aliceId = await addLocalUser(app.services, 'alice', PASSWORD);
  cliStore = await new LowdbStore(app.dataDir, clock, { sealer: journalSealer(app.services.box), owner: false }).open();
  // Real events written by the server: two failures at 10:00, alice's sign-in at 12:00; then a CLI step.
  assert.equal(await postPassword('Alice', 'wrong-password-1', '203.0.113.7'), false);
  assert.equal(await postPassword('nobody', 'wrong-password-2', '203.0.113.9'), false);
  now += 2 * 3_600_000;
  assert.equal(await postPassword('alice', PASSWORD, '2001:db8::20'), true);
  const added = await cli('keys', 'add', '--alg', 'ES256');
  assert.equal(added.code, 0, added.err);
});
after(async () => {
  await cliStore?.close();
  await app?.close();
});

test('--user matches the username in any case: one line per event, oldest first, the fields as key=value', async () => {
  const { code, out, err } = await cli('audit', '--user', 'ALICE');
  assert.deepEqual([code, err], [0, '']);
  assert.equal(out.length, 2, out.join('\n'));
  assert.match(out[0]!, new RegExp(`^2026-11-22T10:00:00\\.000Z {2}login\\.password {2}failure {2}Alice {2}rp=audit-app ip=203\\.0\\.113\\.7 reason=invalid-credentials requestId=\\S+ userId=${aliceId}$`));
  assert.match(out[1]!, new RegExp(`^2026-11-22T12:00:00\\.000Z {2}login\\.password {2}success {2}alice {2}rp=audit-app ip=2001:db8::20 requestId=\\S+ userId=${aliceId}$`));
  assert.deepEqual((await cli('audit', '--user', aliceId)).out, out, 'or the user id: the failure too, as the directory knew the account "Alice" names');
});

test('--type with a * prefix, --outcome, --rp and --ip select exactly the matching events', async () => {
  const failures = await cli('audit', '--type', 'login.*', '--outcome', 'failure');
  assert.deepEqual(failures.out.map((line) => line.split('  ').slice(1, 4)), [
    ['login.password', 'failure', 'Alice'],
    ['login.password', 'failure', 'nobody'],
  ]);
  assert.deepEqual((await cli('audit', '--ip', '203.0.113.0/24', '--rp', RP)).out, failures.out);
  assert.deepEqual((await cli('audit', '--ip', '203.0.113.9')).out, [failures.out[1]]);
  assert.deepEqual((await cli('audit', '--ip', '2001:db8::/32', '--outcome', 'success')).out.map((line) => line.split('  ')[3]), ['alice']);

  const keys = await cli('audit', '--type', 'keys.*');
  assert.equal(keys.out.length, 1);
  assert.match(keys.out[0]!, /^2026-11-22T12:00:00\.000Z {2}keys\.add {2}success {2}- {2}alg=ES256 commandId=[0-9a-f-]{36} keyId=\S+ osUser=\S+ via=cli$/, 'no user: -; the other fields sorted');
  assert.deepEqual((await cli('audit', '--type', 'keys.add', '--type', 'login.password', '--outcome', 'success')).out.length, 2, 'several --type');
});

test('--json prints each event exactly as stored, one JSON line each', async () => {
  const { code, out } = await cli('audit', '--json', '--type', 'login.password');
  assert.equal(code, 0);
  const stored = (await storedLines()).filter((line) => JSON.parse(line).type === 'login.password');
  assert.equal(stored.length, 3);
  assert.deepEqual(out, stored);
  assert.deepEqual(out.map((line) => JSON.parse(line)), (await app.services.store.audit.query({ types: ['login.password'] })).events);
});

test('--since / --until: relative ages before now, dates and date-times; --limit keeps the most recent', async () => {
  const recent = await cli('audit', '--since', '30m');
  assert.deepEqual(recent.out.map((line) => line.split('  ')[1]), ['login.password', 'keys.add']);
  assert.deepEqual((await cli('audit', '--since', '2026-11-22T11:00:00Z')).out, recent.out);
  assert.deepEqual((await cli('audit', '--since', '2026-11-22T11:00')).out, recent.out, 'a date-time without an offset is UTC');
  assert.deepEqual((await cli('audit', '--since', '3h', '--until', '1h')).out.map((line) => line.split('  ')[3]), ['Alice', 'nobody']);
  assert.deepEqual((await cli('audit', '--since', '2026-11-23')).out, []);
  assert.deepEqual((await cli('audit', '--until', '2026-11-22')).out, []);
  assert.deepEqual((await cli('audit', '--limit', '1')).out, [recent.out[1]]);
});

test('nothing matching is said on stderr and is no error; after a rotation, it says where older events are', async () => {
  const none = await cli('audit', '--user', 'someone-else');
  assert.deepEqual([none.code, none.out, none.err], [0, [], 'no audit events match']);
  const rotated = join(app.dataDir, 'audit.log.1');
  await appendFile(rotated, '');
  try {
    const afterRotation = await cli('audit', '--user', 'someone-else');
    assert.equal(afterRotation.err, 'no audit events match in audit.log (older events are in rotated files beside it, not read here: audit.log.1)');
  } finally {
    await rm(rotated);
  }
});

test('every bad option is a usage error (exit 2) that names the option, with nothing on stdout', async () => {
  for (const [words, option] of [
    [['--outcome', 'maybe'], '--outcome'],
    [['--since', 'yesterday'], '--since'],
    [['--since', '7w'], '--since'],
    [['--until', '2026-02-30'], '--until'],
    [['--until', '2026-11-22T25:00:00Z'], '--until'],
    [['--since', '1h', '--until', '2h'], '--since'],
    [['--ip', '203.0.113.300'], '--ip'],
    [['--ip', '203.0.113.0/33'], '--ip'],
    [['--ip', 'localhost'], '--ip'],
    [['--limit', '0'], '--limit'],
    [['--limit', '100001'], '--limit'],
    [['--limit', 'ten'], '--limit'],
    [['--limit', '1.5'], '--limit'],
    [['--limit'], '--limit'],
    [['--user'], '--user'],
    [['--type', ''], '--type'],
    [['--json', 'yes'], '--json'],
    [['--colour'], '--colour'],
    [['alice'], 'alice'],
  ] as const) {
    const result = await cli('audit', ...words);
    assert.equal(result.code, 2, words.join(' '));
    assert.deepEqual(result.out, [], words.join(' '));
    assert.ok(result.err.split('\n')[0]!.includes(option), `${words.join(' ')}: ${result.err.split('\n')[0]}`);
  }
});

test('--help explains the options with examples and the JSON-lines file', async () => {
  const { code, out } = await cli('audit', '--help');
  assert.equal(code, 0);
  const help = out.join('\n');
  for (const option of ['--type', '--user', '--rp', '--outcome', '--ip', '--since', '--until', '--limit', '--json']) assert.ok(help.includes(option), option);
  assert.match(help, /JSON lines, one event per line/);
  assert.match(help, /jq/);
  assert.match(help, /Examples:/);
});

test('when --limit leaves out earlier matches, stderr says so (stdout, which jq reads, holds the events alone); a limit that holds them all says nothing', async () => {
  const all = await cli('audit', '--type', 'login.password');
  assert.ok(all.out.length >= 3, all.out.join('\n'));
  assert.equal(all.err, '');
  const cut = await cli('audit', '--type', 'login.password', '--limit', '2');
  assert.deepEqual([cut.code, cut.out], [0, all.out.slice(-2)]);
  assert.equal(cut.err, 'only the last 2 matching events are shown; earlier ones match too (give --limit N, up to 100000, or narrow them with --since / --until)');
  assert.equal((await cli('audit', '--type', 'login.password', '--limit', String(all.out.length))).err, '', 'exactly as many as match');
});

test('what a user typed is quoted and escaped: a space cannot fake a field, control characters never reach the terminal', async () => {
  now += 60_000;
  assert.equal(await postPassword('mallory reason=ok\u001b[2J', 'wrong-password-4', '198.51.100.66'), false);
  const { out } = await cli('audit', '--ip', '198.51.100.66');
  assert.equal(out.length, 1);
  assert.equal(out[0]!.split('  ')[3], '"mallory reason=ok\\u001b[2J"');
  assert.doesNotMatch(out[0]!, /\u001b/);
});

test('unreadable lines are skipped and counted on stderr; the events around them are still printed', async () => {
  const before = await cli('audit', '--limit', '100');
  await appendFile(join(app.dataDir, 'audit.log'), 'this is not JSON\n');
  now += 60_000;
  assert.equal(await postPassword('alice', 'wrong-password-3', '198.51.100.4'), false);
  const after = await cli('audit', '--limit', '100');
  assert.equal(after.code, 0);
  assert.deepEqual(after.out.slice(0, -1), before.out);
  assert.match(after.out.at(-1)!, /login\.password {2}failure {2}alice {2}.*ip=198\.51\.100\.4/);
  assert.equal(after.err, '1 unreadable line(s) skipped');
});
