import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import { FileAuditLog } from '../../src/store/audit-file.ts';
import { AUDIT_BYTES_ALL_CLIENTS, AUDIT_FAILURES_ALL_CLIENTS, AUDIT_FAILURES_PER_IP, AUDIT_THROTTLE_WINDOW_MS, ThrottledAuditLog } from '../../src/store/audit-throttle.ts';
import type { AuditLog, StoredAuditEvent } from '../../src/store/store.ts';
import { testSealer } from '../helpers/journal-sealer.ts';
import { boot } from '../helpers/boot.ts';

const N = AUDIT_FAILURES_PER_IP;
const T0 = Date.parse('2026-11-22T10:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stepgate-audit-throttle-'));
});
after(() => rm(dir, { recursive: true, force: true }));

async function all(log: AuditLog): Promise<StoredAuditEvent[]> {
  return (await log.query({ limit: 100_000 })).events;
}
const count = (events: StoredAuditEvent[], where: (event: StoredAuditEvent) => boolean) => events.filter(where).length;
const summaries = (events: StoredAuditEvent[]) => events.filter((event) => event.type === 'audit.suppressed');

describe('the store audit log throttles failures per client IP', () => {
  const clock = { at: T0, now: () => clock.at };
  let store: LowdbStore;
  let storeDir: string;

  before(async () => {
    storeDir = join(dir, 'store');
    store = await new LowdbStore(storeDir, clock, { sealer: testSealer() }).open();
  });
  after(() => store.close());

  test('300 failures from one IP: N written, then one audit.suppressed with the rest; others unaffected', async () => {
    const writes: Array<Promise<void>> = [];
    for (let i = 0; i < 300; i++) {
      const type = i % 3 === 0 ? 'saml.request' : 'oidc.userinfo';
      writes.push(store.audit.record({ type, outcome: 'failure', reason: 'x', ip: '203.0.113.1', requestId: `a${i}` }));
      if (i % 50 === 0) {
        writes.push(store.audit.record({ type: 'login.password', outcome: 'success', ip: '203.0.113.1', userId: 'u-1' }));
        writes.push(store.audit.record({ type: 'oidc.token', outcome: 'failure', ip: '198.51.100.2' }));
        writes.push(store.audit.record({ type: 'logout', outcome: 'info', ip: '203.0.113.1' }));
      }
      if (i === 250) writes.push(store.audit.record({ type: 'login.password', outcome: 'failure', reason: 'invalid-credentials', ip: '203.0.113.1', requestId: 'lock', lockStarted: ['account'] }));
      clock.at += 100; // 300 events in 30 s: one window
    }
    await Promise.all(writes);

    let events = await all(store.audit);
    const fromA = (event: StoredAuditEvent) => event.ip === '203.0.113.1' && event.outcome === 'failure' && event.requestId !== 'lock';
    assert.equal(count(events, fromA), N);
    assert.deepEqual(events.filter(fromA).map((event) => event.requestId), Array.from({ length: N }, (_, i) => `a${i}`), 'the first N are the ones written');
    assert.equal(count(events, (event) => event.ip === '198.51.100.2'), 6, 'another IP is unaffected');
    assert.equal(count(events, (event) => event.outcome === 'success'), 6, 'successes are never throttled');
    assert.equal(count(events, (event) => event.outcome === 'info'), 6, 'info events are never throttled');
    assert.equal(count(events, (event) => event.requestId === 'lock'), 1, 'the failure that started a lock is written past the cap');
    assert.deepEqual(summaries(events), [], 'no summary before the window ends');

    clock.at = T0 + AUDIT_THROTTLE_WINDOW_MS;
    await store.audit.record({ type: 'oidc.userinfo', outcome: 'failure', ip: '203.0.113.1', requestId: 'next' });
    events = await all(store.audit);
    const [summary, ...more] = summaries(events);
    assert.deepEqual(more, []);
    const { at, ...rest } = summary!;
    assert.equal(at, iso(T0 + AUDIT_THROTTLE_WINDOW_MS));
    assert.deepEqual(rest, {
      type: 'audit.suppressed',
      outcome: 'info',
      ip: '203.0.113.1',
      reason: 'too-many-failures',
      suppressed: 300 - N,
      types: { 'oidc.userinfo': 200 - 80, 'saml.request': 100 - 40 },
      windowStart: iso(T0),
      windowEnd: iso(T0 + AUDIT_THROTTLE_WINDOW_MS),
    });
    assert.equal(events.at(-1)!.requestId, 'next', 'the next window writes again, after the summary');
  });

  test('a failure without an IP (the CLI) is never throttled', async () => {
    await Promise.all(Array.from({ length: 200 }, () => store.audit.record({ type: 'mfa.import', outcome: 'failure', via: 'cli' })));
    assert.equal(count(await all(store.audit), (event) => event.type === 'mfa.import'), 200);
  });

  test('a window that ended is summed up by flushEnded (the timer) without another event from the IP', async () => {
    const start = clock.at;
    await Promise.all(Array.from({ length: N + 7 }, () => store.audit.record({ type: 'oidc.token', outcome: 'failure', ip: '192.0.2.3' })));
    await store.audit.flushEnded();
    assert.deepEqual(summaries(await all(store.audit)).filter((event) => event.ip === '192.0.2.3'), [], 'not before the window ends');
    clock.at = start + AUDIT_THROTTLE_WINDOW_MS + 1;
    await store.audit.flushEnded();
    const [summary] = summaries(await all(store.audit)).filter((event) => event.ip === '192.0.2.3');
    assert.equal(summary?.suppressed, 7);
    assert.deepEqual(summary?.types, { 'oidc.token': 7 });
  });

  test('close writes the summary of a window still open: no count is lost', async () => {
    const closeDir = join(dir, 'closing');
    const start = clock.at;
    const closing = await new LowdbStore(closeDir, clock, { sealer: testSealer() }).open();
    await Promise.all(Array.from({ length: N + 5 }, () => closing.audit.record({ type: 'saml.request', outcome: 'failure', ip: '2001:db8::9' })));
    clock.at += 5_000;
    await closing.close();
    const events = await all(new FileAuditLog(join(closeDir, 'audit.log'), clock));
    assert.equal(events.length, N + 1);
    assert.deepEqual(
      summaries(events).map(({ suppressed, windowStart, windowEnd }) => ({ suppressed, windowStart, windowEnd })),
      [{ suppressed: 5, windowStart: iso(start), windowEnd: iso(start + 5_000) }],
    );
  });
});

test('beyond maxIps, new IPs share one overflow bucket', async () => {
  const clock = { at: T0, now: () => clock.at };
  const log = new ThrottledAuditLog(new FileAuditLog(join(dir, 'overflow.log'), clock), clock, { limit: 2, maxIps: 2 });
  await log.open();
  for (const ip of ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4']) {
    for (let i = 0; i < 3; i++) await log.record({ type: 'oidc.token', outcome: 'failure', ip });
  }
  await log.close();
  const events = await all(log);
  assert.equal(count(events, (event) => event.ip === '192.0.2.1' && event.outcome === 'failure'), 2);
  assert.equal(count(events, (event) => event.ip === '192.0.2.2' && event.outcome === 'failure'), 2);
  assert.equal(count(events, (event) => event.ip === '192.0.2.3' && event.outcome === 'failure'), 2, 'the overflow bucket: its first two');
  assert.equal(count(events, (event) => event.ip === '192.0.2.4' && event.outcome === 'failure'), 0, 'the overflow bucket is spent');
  assert.deepEqual(
    summaries(events).map(({ ip, overflow, suppressed }) => ({ ip, overflow, suppressed })),
    [
      { ip: '192.0.2.1', overflow: undefined, suppressed: 1 },
      { ip: '192.0.2.2', overflow: undefined, suppressed: 1 },
      { ip: undefined, overflow: true, suppressed: 4 },
    ],
  );
});

describe('failures from all client IPs together are capped too', () => {
  const failures = (events: StoredAuditEvent[]) => events.filter((event) => event.outcome === 'failure');
  const suppressedIn = (events: StoredAuditEvent[]) => summaries(events).reduce((sum, event) => sum + (event.suppressed as number), 0);

  test('many addresses, each under its own cap: the store writes AUDIT_FAILURES_ALL_CLIENTS, then one global summary', async () => {
    const clock = { at: T0, now: () => clock.at };
    const storeDir = join(dir, 'many-addresses');
    const store = await new LowdbStore(storeDir, clock, { sealer: testSealer() }).open();
    const addresses = Array.from({ length: 200 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
    const perAddress = Math.ceil((AUDIT_FAILURES_ALL_CLIENTS * 2) / addresses.length);
    assert.ok(perAddress < N, 'each address stays under its own cap');
    const writes: Array<Promise<void>> = [];
    for (let round = 0; round < perAddress; round++) {
      for (const ip of addresses) writes.push(store.audit.record({ type: 'saml.request', outcome: 'failure', reason: 'bad-binding', ip }));
    }
    writes.push(store.audit.record({ type: 'login.password', outcome: 'success', ip: addresses[0], userId: 'u-1' }));
    writes.push(store.audit.record({ type: 'login.password', outcome: 'failure', ip: addresses[1], requestId: 'lock', lockStarted: ['account'] }));
    await Promise.all(writes);
    let events = await all(store.audit);
    assert.equal(failures(events).filter((event) => event.requestId !== 'lock').length, AUDIT_FAILURES_ALL_CLIENTS);
    assert.equal(count(events, (event) => event.outcome === 'success' || event.requestId === 'lock'), 2, 'always-written events are not held back by the budget');

    clock.at = T0 + AUDIT_THROTTLE_WINDOW_MS;
    await store.audit.flushEnded();
    events = await all(store.audit);
    const { at, ...global } = summaries(events)[0]!;
    assert.equal(at, iso(T0 + AUDIT_THROTTLE_WINDOW_MS));
    assert.deepEqual(global, {
      type: 'audit.suppressed',
      outcome: 'info',
      global: true,
      reason: 'too-many-failures',
      suppressed: perAddress * addresses.length - AUDIT_FAILURES_ALL_CLIENTS,
      types: { 'saml.request': perAddress * addresses.length - AUDIT_FAILURES_ALL_CLIENTS },
      windowStart: iso(T0),
      windowEnd: iso(T0 + AUDIT_THROTTLE_WINDOW_MS),
    });
    assert.equal(summaries(events).length, 1);
    await store.close();
  });

  test('cancelled sign-ins (login.cancel, info) anyone can cause are capped with the failures, per address and for all', async () => {
    const clock = { at: T0, now: () => clock.at };
    const store = await new LowdbStore(join(dir, 'cancels'), clock, { sealer: testSealer() }).open();
    const addresses = Array.from({ length: 30 }, (_, i) => `10.1.0.${i}`);
    const perAddress = N + 60;
    const writes: Array<Promise<void>> = [];
    for (let round = 0; round < perAddress; round++) {
      for (const ip of addresses) writes.push(store.audit.record({ type: 'login.cancel', outcome: 'info', rp: 'app', ip }));
    }
    writes.push(store.audit.record({ type: 'logout', outcome: 'info', ip: addresses[0] }));
    await Promise.all(writes);
    let events = await all(store.audit);
    assert.ok(addresses.every((ip) => count(events, (event) => event.type === 'login.cancel' && event.ip === ip) <= N), 'each address: at most its cap');
    assert.equal(count(events, (event) => event.type === 'login.cancel'), AUDIT_FAILURES_ALL_CLIENTS, 'all addresses: the cap of all clients');
    assert.equal(count(events, (event) => event.type === 'logout'), 1, 'other info events are still always written');

    clock.at = T0 + AUDIT_THROTTLE_WINDOW_MS;
    await store.audit.flushEnded();
    events = await all(store.audit);
    const cancelsSuppressed = summaries(events).reduce((sum, event) => sum + ((event.types as Record<string, number>)['login.cancel'] ?? 0), 0);
    assert.equal(cancelsSuppressed + count(events, (event) => event.type === 'login.cancel'), perAddress * addresses.length, 'every cancel is written or counted');
    await store.close();
  });

  test('revocations of unknown tokens (success, token-unknown) anyone with a public client_id can send are capped; real revocations are not', async () => {
    const clock = { at: T0, now: () => clock.at };
    const store = await new LowdbStore(join(dir, 'revocations'), clock, { sealer: testSealer() }).open();
    const ip = '198.51.100.9';
    const writes: Array<Promise<void>> = [];
    for (let i = 0; i < N + 50; i++) writes.push(store.audit.record({ type: 'oidc.revoke', outcome: 'success', reason: 'token-unknown', rp: 'spa', ip }));
    for (let i = 0; i < 10; i++) writes.push(store.audit.record({ type: 'oidc.revoke', outcome: 'success', tokenKind: 'refresh_token', rp: 'spa', userId: 'u-1', ip }));
    await Promise.all(writes);
    let events = await all(store.audit);
    assert.equal(count(events, (event) => event.reason === 'token-unknown'), N);
    assert.equal(count(events, (event) => event.tokenKind === 'refresh_token'), 10, 'a revocation that ended tokens is always written');

    clock.at = T0 + AUDIT_THROTTLE_WINDOW_MS;
    await store.audit.flushEnded();
    events = await all(store.audit);
    assert.deepEqual(summaries(events).map(({ ip: summarized, suppressed, types }) => ({ summarized, suppressed, types })), [{ summarized: ip, suppressed: 50, types: { 'oidc.revoke': 50 } }]);
    await store.close();
  });

  test('large events count by their size too: typed names of control characters (six bytes each in JSON) stay within AUDIT_BYTES_ALL_CLIENTS', async () => {
    const clock = { at: T0, now: () => clock.at };
    const storeDir = join(dir, 'large-events');
    const store = await new LowdbStore(storeDir, clock, { sealer: testSealer() }).open();
    const addresses = Array.from({ length: 30 }, (_, i) => `10.2.0.${i}`);
    const username = '\u0001'.repeat(256);
    const writes: Array<Promise<void>> = [];
    for (let round = 0; round < 100; round++) {
      for (const ip of addresses) writes.push(store.audit.record({ type: 'login.password', outcome: 'failure', reason: 'malformed', rp: 'app', username, ip }));
    }
    await Promise.all(writes);
    const bytes = (await stat(join(storeDir, 'audit.log'))).size;
    assert.ok(bytes <= AUDIT_BYTES_ALL_CLIENTS, `${bytes} bytes written`);

    clock.at = T0 + AUDIT_THROTTLE_WINDOW_MS;
    await store.audit.flushEnded();
    const events = await all(store.audit);
    const counted = summaries(events).reduce((sum, event) => sum + (event.suppressed as number), 0);
    assert.equal(count(events, (event) => event.type === 'login.password') + counted, 100 * addresses.length, 'every event written or counted');
    await store.close();
  });

  test('per-IP summaries share the budget; one that does not fit is counted in the global summary; each event counted once', async () => {
    const clock = { at: T0, now: () => clock.at };
    const log = new ThrottledAuditLog(new FileAuditLog(join(dir, 'shared-budget.log'), clock), clock, { limit: 3, totalLimit: 8 });
    await log.open();
    let sent = 0;
    const fail = (ip: string, type = 'oidc.token') => {
      sent += 1;
      return log.record({ type, outcome: 'failure', ip });
    };
    for (let i = 0; i < 5; i++) await fail('192.0.2.1'); // A: 3 written, 2 over its cap
    for (let i = 0; i < 5; i++) await fail('192.0.2.2', 'saml.request'); // B: 3 written, 2 over its cap
    clock.at += 1_000;
    for (let i = 0; i < 5; i++) await fail('192.0.2.3'); // C: 2 written, 1 over the budget, 2 over its cap
    clock.at = T0 + AUDIT_THROTTLE_WINDOW_MS - 1;
    await fail('192.0.2.4'); // D: over the budget
    let events = await all(log);
    assert.equal(failures(events).length, 8);
    assert.equal(count(events, (event) => event.ip === '192.0.2.3'), 2);

    clock.at = T0 + AUDIT_THROTTLE_WINDOW_MS;
    await fail('192.0.2.1'); // ends the global window and A's: both summaries, then A's failure, in a new budget
    events = await all(log);
    assert.deepEqual(
      events.slice(-3).map(({ type, ip, global, suppressed, types, windowStart }) => ({ type, ip, global, suppressed, types, windowStart })),
      [
        { type: 'audit.suppressed', ip: undefined, global: true, suppressed: 2, types: { 'oidc.token': 2 }, windowStart: iso(T0) },
        { type: 'audit.suppressed', ip: '192.0.2.1', global: undefined, suppressed: 2, types: { 'oidc.token': 2 }, windowStart: iso(T0) },
        { type: 'oidc.token', ip: '192.0.2.1', global: undefined, suppressed: undefined, types: undefined, windowStart: undefined },
      ],
    );

    for (let i = 0; i < 7; i++) await fail(`198.51.100.${i}`); // 6 fill the budget, 1 over it
    await log.close(); // B's and C's summaries no longer fit: counted in the global one
    events = await all(log);
    assert.equal(failures(events).length, 8 + 1 + 6);
    const last = summaries(events).at(-1)!;
    assert.equal(summaries(events).length, 3);
    assert.equal(last.global, true, 'at stop the global summary is written last');
    assert.equal(last.suppressed, 1 + 2 + 2);
    assert.deepEqual(last.types, { 'oidc.token': 1 + 2, 'saml.request': 2 });
    assert.equal(last.windowStart, iso(T0), 'its window reaches back to the start of the per-IP windows it sums up');
    assert.equal(failures(events).length + suppressedIn(events), sent, 'every failure is written or counted in exactly one summary');
  });

  test('the global summary is written by the timer once its window ended, and at stop', async () => {
    const clock = { at: T0, now: () => clock.at };
    const log = new ThrottledAuditLog(new FileAuditLog(join(dir, 'global-timer.log'), clock), clock, { limit: 5, totalLimit: 4 });
    await log.open();
    for (const ip of ['192.0.2.1', '192.0.2.2', '192.0.2.3']) await log.record({ type: 'oidc.userinfo', outcome: 'failure', ip });
    for (const ip of ['192.0.2.1', '192.0.2.2', '192.0.2.3']) await log.record({ type: 'oidc.userinfo', outcome: 'failure', ip });
    await log.flushEnded();
    assert.deepEqual(summaries(await all(log)), [], 'not before the window ends');
    clock.at = T0 + AUDIT_THROTTLE_WINDOW_MS;
    await log.flushEnded();
    assert.deepEqual(summaries(await all(log)).map(({ global, suppressed }) => ({ global, suppressed })), [{ global: true, suppressed: 2 }]);

    for (let i = 0; i < 7; i++) await log.record({ type: 'oidc.token', outcome: 'failure', ip: `203.0.113.${i}` });
    await log.close();
    const events = await all(log);
    assert.equal(failures(events).length, 4 + 4);
    assert.deepEqual(summaries(events).map(({ global, suppressed, types }) => ({ global, suppressed, types })), [
      { global: true, suppressed: 2, types: { 'oidc.userinfo': 2 } },
      { global: true, suppressed: 3, types: { 'oidc.token': 3 } },
    ]);
  });
});

test('HTTP: a flood of bad /oidc/me requests writes N events, then one summary', async () => {
  let offset = 0;
  const app = await boot({ server: { trustedProxies: ['127.0.0.1/32'] } }, { clock: { now: () => Date.now() + offset } });
  try {
    const ip = '203.0.113.77';
    const bad = () =>
      fetch(`${app.url}/oidc/me`, { headers: { authorization: 'Bearer not-a-token', 'x-forwarded-for': ip } }).then(async (response) => {
        await response.arrayBuffer();
        assert.equal(response.status, 401);
      });
    for (let i = 0; i < 300; i += 50) await Promise.all(Array.from({ length: 50 }, bad));
    const fromIp = async () => (await app.services.store.audit.query({ ip, limit: 100_000 })).events;
    let events = await fromIp();
    assert.equal(count(events, (event) => event.type === 'oidc.userinfo'), N);
    assert.deepEqual(summaries(events), []);

    offset += AUDIT_THROTTLE_WINDOW_MS + 1_000;
    await bad();
    events = await fromIp();
    assert.equal(count(events, (event) => event.type === 'oidc.userinfo'), N + 1);
    assert.deepEqual(
      summaries(events).map(({ suppressed, types }) => ({ suppressed, types })),
      [{ suppressed: 300 - N, types: { 'oidc.userinfo': 300 - N } }],
    );
  } finally {
    await app.close();
  }
});
