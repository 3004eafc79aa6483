import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { parseConfig } from '../../src/config/load.ts';
import { createDirectory } from '../../src/build-services.ts';
import { systemClock } from '../../src/core/clock.ts';
import type { Store } from '../../src/store/store.ts';

test('LDAP log lines name their component once: a JSON key written twice is refused or half-read by log parsers', async () => {
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk, _encoding, done) => (lines.push(...String(chunk).split('\n').filter(Boolean)), done()) });
  const config = parseConfig({
    directory: { kind: 'ldap', urls: ['ldap://127.0.0.1:1'], connectTimeoutMs: 200, searchTimeoutMs: 200, bind: { dn: 'cn=svc,dc=example,dc=org', password: 'x' }, users: { baseDn: 'ou=people,dc=example,dc=org' } },
  });
  const directory = await createDirectory(config, {} as Store, pino(sink), systemClock);
  try {
    assert.equal((await directory.authenticate('alice', 'secret')).ok, false);
  } finally {
    await directory.close();
  }
  const ldapLines = lines.filter((line) => line.includes('"component"'));
  assert.ok(ldapLines.length > 0, 'the unreachable directory was logged');
  for (const line of ldapLines) assert.equal(line.match(/"component":/g)?.length, 1, line);
});
