import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AUDIT_FAILURES_PER_IP } from '../../src/store/audit-throttle.ts';
import { FileAuditLog } from '../../src/store/audit-file.ts';

/**
 * The audit log's cap on failures counts clients as the rate limits do: an IPv6 /64 is one client,
 * which may use any address in it (privacy addresses). Counted per address, one client could write
 * AUDIT_FAILURES_PER_IP failures a minute from each of them and fill the budget of all clients.
 */
let app: Booted;
let dataDir: string;
before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'stepgate-audit-ipv6-'));
  app = await boot({}, { dataDir });
});
let closed = false;
after(async () => {
  if (!closed) await app?.close();
  await rm(dataDir, { recursive: true, force: true });
});

test("failures from many addresses of one IPv6 /64 share that client's cap; another /64 and an IPv4 client have their own", async () => {
  const { audit } = app.services.store;
  const sent = AUDIT_FAILURES_PER_IP + 30;
  for (let i = 0; i < sent; i++) await audit.record({ type: 'oidc.token', outcome: 'failure', ip: `2001:db8:0:1::${(i + 1).toString(16)}` });
  await audit.record({ type: 'oidc.token', outcome: 'failure', ip: '2001:db8:0:2::1' });
  await audit.record({ type: 'oidc.token', outcome: 'failure', ip: '192.0.2.7' });
  await app.close(); // writes the summaries of windows still open
  closed = true;
  const { events } = await new FileAuditLog(join(dataDir, 'audit.log'), app.services.clock).query({ limit: 10_000 });
  const failuresFrom = (prefix: string) => events.filter((event) => event.outcome === 'failure' && String(event.ip).startsWith(prefix)).length;
  assert.equal(failuresFrom('2001:db8:0:1:'), AUDIT_FAILURES_PER_IP, "the /64's first failures only, whatever address sent them");
  assert.equal(failuresFrom('2001:db8:0:2:'), 1, 'another /64 is another client');
  assert.equal(failuresFrom('192.0.2.7'), 1);
  const summaries = events.filter((event) => event.type === 'audit.suppressed');
  assert.deepEqual(summaries.map(({ ip, suppressed }) => ({ ip, suppressed })), [{ ip: '2001:db8:0:1::/64', suppressed: 30 }]);
});
