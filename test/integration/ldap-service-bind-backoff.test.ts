import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { LdapConnector } from '../../src/directory/ldap-connector.ts';
import { ldapDirectorySchema } from '../../src/directory/ldap-config.ts';
import { slapdDirectoryInput } from '../helpers/ldap-directory.ts';

const BACKOFF_MS = 300;
let slapd: SlapdHandle;

before(async () => {
  slapd = await startSlapd({ ppolicy: false, monitor: false });
});
after(() => slapd?.stop());

/** When the refused server is tried again, as the refusal names it: epoch ms. */
function retryAt(error: unknown): number {
  const at = /not tried again until (\S+)\)/.exec((error as Error).message)?.[1];
  assert.ok(at, (error as Error).message);
  return Date.parse(at);
}

test('a service password refused again and again waits twice as long each time before it is sent again', async () => {
  const config = ldapDirectorySchema.parse({ ...slapdDirectoryInput(slapd), bind: { dn: slapd.serviceDn, password: 'not-the-service-password' } });
  const connector = new LdapConnector(config, undefined, { serviceBindBackoffMs: BACKOFF_MS });
  const connection = await connector.connectTo(slapd.url);
  try {
    const waits: number[] = [];
    for (let refusal = 0; refusal < 3; refusal++) {
      const sentAt = Date.now();
      await assert.rejects(connector.serviceBind(connection), /invalid credentials/i, 'sent, and refused');
      const leftOut = await connector.serviceBind(connection).then(
        () => assert.fail('bound with a wrong password'),
        (error: unknown) => error,
      );
      waits.push(retryAt(leftOut) - sentAt);
      await sleep(retryAt(leftOut) - Date.now() + 20);
    }
    // 300, 600, 1200 ms, each measured from a moment just before the refusal.
    assert.ok(waits[0]! >= BACKOFF_MS && waits[0]! < 2 * BACKOFF_MS, `first back-off ${waits[0]} ms`);
    assert.ok(waits[1]! >= 2 * BACKOFF_MS && waits[1]! < 4 * BACKOFF_MS, `second back-off ${waits[1]} ms`);
    assert.ok(waits[2]! >= 4 * BACKOFF_MS, `third back-off ${waits[2]} ms`);
  } finally {
    await connection.client.unbind().catch(() => undefined);
  }
});
