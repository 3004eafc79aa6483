import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { boot, type Booted } from '../helpers/boot.ts';
import { cliProcess } from '../helpers/cli.ts';
import { createLogger } from '../../src/core/log.ts';
import { createHttpServer } from '../../src/http/http-server.ts';
import { ldapDirectorySchema } from '../../src/directory/ldap-config.ts';
import { redirectUriProblem } from '../../src/oidc/redirect-uri.ts';
import { clientNetwork } from '../../src/regulation/client-network.ts';
import { compileAuditQuery } from '../../src/store/audit-filter.ts';
import type { StoredAuditEvent } from '../../src/store/store.ts';

/** IPv6 spellings that an admin meets on a dual-stack or IPv6-only installation. */
const secretKey = randomBytes(32).toString('base64');
let app: Booted;
before(async () => {
  app = await boot({}, { secretKey });
});
after(() => app?.close());

test('an LDAP URL with an IPv6 address outside brackets is refused at start, naming the key and the right spelling', () => {
  const urls = (url: string) => ldapDirectorySchema.safeParse({ kind: 'ldap', urls: [url], bind: { dn: 'cn=service,dc=example,dc=org', password: 'x' }, users: { baseDn: 'dc=example,dc=org' } });
  const refused = urls('ldap://::1:389');
  assert.equal(refused.success, false);
  assert.deepEqual(refused.error!.issues.map((issue) => [issue.path.join('.'), issue.message]), [['urls.0', 'is not a URL the connection can use; write an IPv6 address in brackets, without a zone: ldap://[2001:db8::10]:389']]);
  assert.equal(urls('ldap://[::1]:389').success, true);
  const badPort = urls('ldap://dc1.example.org:99999');
  assert.deepEqual(badPort.error!.issues.map((issue) => issue.message), ['is not a URL the connection can use: check the host name and the port (1 to 65535)'], 'no IPv6 advice where there is no IPv6 address');
});

test('a redirect URI on the IPv4-mapped loopback is refused for what it is, not sent to a spelling that is refused in turn', () => {
  assert.equal(redirectUriProblem('http://[::ffff:127.0.0.1]/cb'), 'http is only allowed for localhost, 127.0.0.1 or [::1]; use https');
  assert.equal(redirectUriProblem('http://[::ffff:7f00:1]/cb'), 'http is only allowed for localhost, 127.0.0.1 or [::1]; use https');
  assert.match(redirectUriProblem('https://[2001:DB8::1]/cb') ?? '', /^is written unusually; clients send it as https:\/\/\[2001:db8::1\]\/cb: register that$/);
});

test('a dual-stack listener logs a refused IPv4 client by its IPv4 address, as the audit log does', async () => {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({ write: (chunk, _encoding, done) => (lines.push(...chunk.toString().split('\n').filter(Boolean).map((line: string) => JSON.parse(line))), done()) });
  const server = createHttpServer(createLogger('warn', sink));
  server.listen(0, '::');
  await once(server, 'listening');
  try {
    const socket = connect((server.address() as { port: number }).port, '127.0.0.1');
    socket.end('GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n');
    await once(socket.resume(), 'close');
    const refused = lines.find((line) => line.code === 'BAD_REQUEST');
    assert.ok(refused, JSON.stringify(lines));
    assert.equal(refused.ip, '127.0.0.1');
  } finally {
    server.close();
  }
});

test('audit --ip unknown finds the events of clients a trusted proxy did not name', async () => {
  await app.services.store.audit.record({ type: 'login.password', outcome: 'failure', ip: 'unknown', username: 'behind-a-proxy' });
  await app.services.store.audit.record({ type: 'login.password', outcome: 'failure', ip: '192.0.2.9', username: 'named-client' });
  const run = await cliProcess(app, secretKey, ['audit', '--ip', 'unknown', '--json']);
  assert.equal(run.code, 0, run.err);
  const events = run.out.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { ip: string; username: string });
  assert.deepEqual(events.map(({ ip, username }) => [ip, username]), [['unknown', 'behind-a-proxy']]);
  const typo = await cliProcess(app, secretKey, ['audit', '--ip', 'unknwon']);
  assert.equal(typo.code, 2);
  assert.match(typo.err, /--ip takes an IP address, a CIDR \(203\.0\.113\.0\/24\) or "unknown"/);
});

test("an IPv6 client's audit summary names its /64 compressed, and audit --ip finds it by any address in it or a range holding it", async () => {
  assert.equal(clientNetwork('2001:db8::1'), '2001:db8::/64');
  const summary: StoredAuditEvent = { at: new Date().toISOString(), type: 'audit.suppressed', outcome: 'info', ip: '2001:db8::/64' };
  const finds = (ip: string) => compileAuditQuery({ ip })(summary, Date.now());
  assert.equal(finds('2001:db8::77'), true, 'an address of the /64');
  assert.equal(finds('2001:db8::/64'), true);
  assert.equal(finds('2001:db8::/32'), true, 'a range holding it');
  assert.equal(finds('2001:db8:0:1::5'), false, 'another /64');
  assert.equal(finds('192.0.2.1'), false);
  assert.equal(compileAuditQuery({ ip: '2001:db8::/32' })({ at: new Date().toISOString(), type: 'login.password', outcome: 'failure', ip: '2001:db8::9' }, Date.now()), true, 'addresses as before');
});
