import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { capture, withDirectory } from '../helpers/ldap-directory.ts';
import { ldapDirectorySchema } from '../../src/directory/ldap-config.ts';

// While every server is down, one request tries to connect again; the others must be answered
// "unavailable" at once, not wait for that try while holding a pool slot (with a hung server and the
// default 15 s connect timeout, bursts of sign-ins then queued for 15–30 s each). A server that accepts
// connections and never answers makes the try last the whole connect timeout; the log line of its
// failure tells which answers came before it ended.
const SIGN_INS = 8;

let server: Server;
let mode: 'reset' | 'stall' = 'reset';
const stalled: Socket[] = [];

before(async () => {
  server = createServer((socket) => {
    socket.on('error', () => undefined);
    if (mode === 'reset') socket.destroy();
    else stalled.push(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

after(async () => {
  for (const socket of stalled) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

test('during an outage, sign-ins are answered "unavailable" without waiting for another request\'s reconnect', async () => {
  const { port } = server.address() as { port: number };
  const config = ldapDirectorySchema.parse({
    kind: 'ldap',
    urls: [`ldap://127.0.0.1:${port}`],
    connectTimeoutMs: 1000,
    searchTimeoutMs: 1000,
    accountState: { flavour: 'none' },
    bind: { dn: 'cn=service,dc=example,dc=org', password: 'secret' },
    users: { baseDn: 'ou=people,dc=example,dc=org' },
    pool: { size: 2 },
  });
  const { logger, lines } = capture();
  await withDirectory(
    config,
    async (directory) => {
      const down = await directory.authenticate('someone', 'password');
      assert.ok(!down.ok && down.reason === 'unavailable', 'the server is marked down');
      mode = 'stall';
      const failedConnects = () => lines.filter((line) => line.event === 'ldap.connect.failed').length;
      const before = failedConnects();
      const answers = await Promise.all(
        Array.from({ length: SIGN_INS }, async () => {
          const outcome = await directory.authenticate('someone', 'password');
          return { unavailable: !outcome.ok && outcome.reason === 'unavailable', beforeTheTryEnded: failedConnects() === before };
        }),
      );
      assert.equal(answers.filter((answer) => answer.unavailable).length, SIGN_INS);
      assert.equal(answers.filter((answer) => answer.beforeTheTryEnded).length, SIGN_INS - 1, 'all but the one trying again are answered before its try ends');
    },
    logger,
  );
});
