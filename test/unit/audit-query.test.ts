import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileAuditLog } from '../../src/store/audit-file.ts';
import { AuditQueryError } from '../../src/store/audit-filter.ts';
import type { AuditEvent, AuditQuery } from '../../src/store/store.ts';

const T0 = Date.parse('2026-11-22T10:00:00Z');
const MINUTE = 60_000;

/** Recorded one minute apart, r1 first; requestId names each one in the assertions. */
const EVENTS: AuditEvent[] = [
  { type: 'login.password', outcome: 'failure', username: 'Alice', rp: 'app-a', ip: '203.0.113.7', reason: 'invalid-credentials', requestId: 'r1' },
  { type: 'login.password', outcome: 'success', username: 'alice', userId: 'u-1', rp: 'app-a', ip: '203.0.113.8', requestId: 'r2' },
  { type: 'login.mfa', outcome: 'success', username: 'alice', userId: 'u-1', rp: 'app-a', ip: '2001:db8::5', method: 'totp', requestId: 'r3' },
  { type: 'saml.sso', outcome: 'success', username: 'alice', userId: 'u-1', rp: 'https://sp.example.org', ip: '198.51.100.1', requestId: 'r4' },
  { type: 'keys.add', outcome: 'success', keyId: 'k-1', alg: 'ES256', reason: 'cli', requestId: 'r5' },
  { type: 'logout', outcome: 'success', userId: 'u-1', ip: '::ffff:203.0.113.9', requestId: 'r6' },
  { type: 'login.password', outcome: 'failure', username: 'bob', rp: 'app-b', ip: '192.0.2.1', reason: 'invalid-credentials', requestId: 'r7' },
  { type: 'config.import', outcome: 'info', reason: 'dry-run', requestId: 'r8' },
];

let dir: string;

async function freshLog(name: string): Promise<{ log: FileAuditLog; path: string; clock: { now: () => number; at: number } }> {
  const path = join(dir, `${name}.log`);
  const clock = { at: T0, now: () => clock.at };
  const log = new FileAuditLog(path, clock);
  await log.open();
  return { log, path, clock };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stepgate-audit-query-'));
});
after(() => rm(dir, { recursive: true, force: true }));

describe('FileAuditLog.query', () => {
  let log: FileAuditLog;
  const ids = async (query: AuditQuery) => {
    const result = await log.query(query);
    assert.equal(result.skipped, 0);
    return result.events.map((event) => event.requestId);
  };
  const at = (minutes: number) => new Date(T0 + minutes * MINUTE);

  before(async () => {
    const fresh = await freshLog('filters');
    log = fresh.log;
    for (const event of EVENTS) {
      await log.record(event);
      fresh.clock.at += MINUTE;
    }
  });
  after(() => log.close());

  test('no filter: every event, oldest first, with the time it was recorded', async () => {
    const { events, skipped } = await log.query({});
    assert.equal(skipped, 0);
    assert.deepEqual(events.map((event) => event.requestId), ['r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8']);
    assert.deepEqual(events[0], { at: '2026-11-22T10:00:00.000Z', ...EVENTS[0] });
  });

  test('types: exact, several, and a prefix pattern ending in *', async () => {
    assert.deepEqual(await ids({ types: ['login.password'] }), ['r1', 'r2', 'r7']);
    assert.deepEqual(await ids({ types: ['keys.add', 'saml.sso'] }), ['r4', 'r5']);
    assert.deepEqual(await ids({ types: ['login.*'] }), ['r1', 'r2', 'r3', 'r7']);
    assert.deepEqual(await ids({ types: ['log*'] }), ['r1', 'r2', 'r3', 'r6', 'r7']);
    assert.deepEqual(await ids({ types: ['login'] }), [], 'without * a type matches only itself');
    assert.deepEqual(await ids({ types: [] }), ['r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8'], 'an empty list filters nothing');
  });

  test('user: the username in any case, or the user id exactly', async () => {
    assert.deepEqual(await ids({ user: 'ALICE' }), ['r1', 'r2', 'r3', 'r4']);
    assert.deepEqual(await ids({ user: 'u-1' }), ['r2', 'r3', 'r4', 'r6']);
    assert.deepEqual(await ids({ user: 'U-1' }), [], 'user ids are compared exactly');
  });

  test('rp and outcome', async () => {
    assert.deepEqual(await ids({ rp: 'app-a' }), ['r1', 'r2', 'r3']);
    assert.deepEqual(await ids({ rp: 'APP-A' }), []);
    assert.deepEqual(await ids({ outcome: 'failure' }), ['r1', 'r7']);
    assert.deepEqual(await ids({ outcome: 'info' }), ['r8']);
  });

  test('ip: a single address or a CIDR, IPv4 (also IPv4-mapped IPv6) and IPv6', async () => {
    assert.deepEqual(await ids({ ip: '203.0.113.7' }), ['r1']);
    assert.deepEqual(await ids({ ip: '203.0.113.0/24' }), ['r1', 'r2', 'r6']);
    assert.deepEqual(await ids({ ip: '203.0.113.8/31' }), ['r2', 'r6']);
    assert.deepEqual(await ids({ ip: '0.0.0.0/0' }), ['r1', 'r2', 'r4', 'r6', 'r7']);
    assert.deepEqual(await ids({ ip: '2001:db8::/32' }), ['r3']);
    assert.deepEqual(await ids({ ip: '2001:DB8:0:0::5' }), ['r3'], 'IPv6 compared as addresses, not as text');
    assert.deepEqual(await ids({ ip: '2001:db9::/32' }), []);
  });

  test('since is inclusive, until exclusive', async () => {
    assert.deepEqual(await ids({ since: at(5) }), ['r6', 'r7', 'r8']);
    assert.deepEqual(await ids({ until: at(2) }), ['r1', 'r2']);
    assert.deepEqual(await ids({ since: at(1), until: at(3) }), ['r2', 'r3']);
    assert.deepEqual(await ids({ since: at(60) }), []);
  });

  test('filters combine: every one given must match', async () => {
    assert.deepEqual(await ids({ types: ['login.*'], user: 'alice', outcome: 'success' }), ['r2', 'r3']);
    assert.deepEqual(await ids({ types: ['login.*'], user: 'alice', outcome: 'success', ip: '203.0.113.0/24' }), ['r2']);
    assert.deepEqual(await ids({ user: 'alice', since: at(2), rp: 'https://sp.example.org' }), ['r4']);
    assert.deepEqual(await ids({ outcome: 'failure', rp: 'app-b', ip: '192.0.2.1', types: ['login.password'] }), ['r7']);
  });

  test('limit keeps the last matches, still oldest first', async () => {
    assert.deepEqual(await ids({ limit: 2 }), ['r7', 'r8']);
    assert.deepEqual(await ids({ outcome: 'success', limit: 3 }), ['r4', 'r5', 'r6']);
    assert.deepEqual(await ids({ outcome: 'failure', limit: 1 }), ['r7']);
    assert.deepEqual(await ids({ outcome: 'failure', limit: 100 }), ['r1', 'r7']);
  });

  test('a filter that cannot be applied is an AuditQueryError naming the field', async () => {
    for (const [query, field] of [
      [{ ip: '10.0.0.300' }, 'ip'],
      [{ ip: '10.0/8' }, 'ip'],
      [{ ip: '10.0.0.0/33' }, 'ip'],
      [{ limit: 0 }, 'limit'],
      [{ limit: 1.5 }, 'limit'],
      [{ since: new Date('not a date') }, 'since'],
    ] as const) {
      await assert.rejects(log.query(query), (error: unknown) => error instanceof AuditQueryError && error.field === field, JSON.stringify(query));
    }
  });
});

describe('FileAuditLog.query on damaged or absent files', () => {
  test('a missing file (or directory) holds no events', async () => {
    assert.deepEqual(await new FileAuditLog(join(dir, 'absent.log'), { now: () => T0 }).query({}), { events: [], skipped: 0 });
    assert.deepEqual(await new FileAuditLog(join(dir, 'no-such-dir', 'audit.log'), { now: () => T0 }).query({ limit: 5 }), { events: [], skipped: 0 });
  });

  test('garbage lines and a final line torn by a crash are skipped and counted; the rest is read', async () => {
    const { log, path } = await freshLog('damaged');
    await log.record({ type: 'login.password', outcome: 'success', username: 'a' });
    await appendFile(path, 'not json at all\n["an","array"]\n{"type":"no time","outcome":"info"}\n\n');
    await log.record({ type: 'login.password', outcome: 'success', username: 'b' });
    await log.close();
    await appendFile(path, '{"at":"2026-11-22T10:00:00.000Z","type":"login.pass');
    const { events, skipped } = await log.query({});
    assert.deepEqual(events.map((event) => event.username), ['a', 'b']);
    assert.equal(skipped, 4, 'three unreadable lines and the torn one; the empty line is no event and no damage');
    assert.deepEqual((await log.query({ user: 'b' })).skipped, 4, 'counted whatever the filter');
  });

  test('after a crash tore the last line, the first event written on restart is still read', async () => {
    const path = join(dir, 'glued.log');
    await writeFile(path, '{"at":"2026-11-22T09:59:00.000Z","type":"login.password","outcome":"succ');
    const restarted = new FileAuditLog(path, { now: () => T0 });
    await restarted.open();
    await restarted.record({ type: 'logout', outcome: 'success', username: 'c' });
    await restarted.close();
    assert.equal((await readFile(path, 'utf8')).split('\n').filter(Boolean).length, 1, 'glued onto the torn line');
    const { events, skipped } = await restarted.query({});
    assert.deepEqual(events, [{ at: '2026-11-22T10:00:00.000Z', type: 'logout', outcome: 'success', username: 'c' }]);
    assert.equal(skipped, 1);
  });

  test('a large file (100,000 lines) is streamed: filters and the last-matches ring work across it', async () => {
    const path = join(dir, 'large.log');
    const lines = Array.from({ length: 100_000 }, (_, index) =>
      JSON.stringify({ at: new Date(T0 + index * 1000).toISOString(), type: index % 10 === 0 ? 'login.password' : 'oidc.sign-in', outcome: index % 1000 === 0 ? 'failure' : 'success', username: `user-${index % 7}`, n: index }),
    );
    await writeFile(path, lines.join('\n') + '\n');
    const log = new FileAuditLog(path, { now: () => T0 });

    const failures = await log.query({ outcome: 'failure', limit: 3 });
    assert.deepEqual(failures.events.map((event) => event.n), [97_000, 98_000, 99_000]);
    const all = await log.query({ limit: 100_000 });
    assert.equal(all.events.length, 100_000);
    assert.deepEqual([all.events[0]!.n, all.events[99_999]!.n], [0, 99_999]);
    const filtered = await log.query({ types: ['login.*'], user: 'USER-3', since: new Date(T0 + 50_000 * 1000) });
    assert.deepEqual(filtered.events.map((event) => event.n), lines.map((_, index) => index).filter((index) => index >= 50_000 && index % 10 === 0 && index % 7 === 3));
    assert.deepEqual(filtered.skipped, 0);
  });
});

test('rotation with copytruncate: after the file is copied and emptied, new events start it again, with no gap or stale bytes', async () => {
  const { log, path } = await freshLog('rotated');
  try {
    await log.record(EVENTS[0]!);
    await log.record(EVENTS[1]!);
    await writeFile(`${path}.1`, await readFile(path));
    await truncate(path, 0);
    await log.record(EVENTS[2]!);
    const text = await readFile(path, 'utf8');
    assert.equal(text.split('\n').filter(Boolean).length, 1);
    assert.ok(!text.includes('\0'), 'appends go to the new end, not to the old offset');
    assert.deepEqual((await log.query({})).events.map((event) => event.requestId), ['r3']);
    assert.deepEqual((await log.query({})).skipped, 0);
  } finally {
    await log.close();
  }
});
