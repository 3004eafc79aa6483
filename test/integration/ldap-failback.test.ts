import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { TcpRelay } from '../helpers/tcp-relay.ts';
import { capture } from '../helpers/ldap-directory.ts';
import { until } from '../helpers/until.ts';
import { ldapDirectorySchema } from '../../src/directory/ldap-config.ts';
import type { Connection } from '../../src/directory/ldap-connection.ts';
import { LdapConnector } from '../../src/directory/ldap-connector.ts';
import { LdapPool } from '../../src/directory/ldap-pool.ts';

/** The down window, shortened from 30 s. */
const DOWN_MS = 300;

let slapd: SlapdHandle;
let primary: TcpRelay;
let backup: TcpRelay;

before(async () => {
  slapd = await startSlapd();
  [primary, backup] = await Promise.all([TcpRelay.to(slapd.port), TcpRelay.to(slapd.port)]);
});

after(async () => {
  await Promise.all([primary?.cut(), backup?.cut()]);
  await slapd?.stop();
});

test('once the primary works again, idle connections to the backup close and new ones go to the primary; one in use finishes first', async () => {
  const { logger, lines } = capture();
  const config = ldapDirectorySchema.parse({
    kind: 'ldap',
    urls: [primary.url, backup.url],
    connectTimeoutMs: 1000,
    searchTimeoutMs: 1000,
    bind: { dn: slapd.serviceDn, password: slapd.servicePassword },
    users: { baseDn: `ou=people,${slapd.baseDn}` },
  });
  const pool = new LdapPool(new LdapConnector(config, logger, { downMs: DOWN_MS }), { size: 3, serviceBound: true });
  const read = ({ client }: Connection): Promise<unknown> => client.search(slapd.baseDn, { scope: 'base', attributes: ['1.1'] });
  const server = (): Promise<string> => pool.use(async (connection) => (await read(connection), connection.url));
  try {
    assert.equal(await server(), primary.url);
    await primary.cut();
    // three at once, so that the pool holds three connections to the backup
    const parallel = await Promise.all([1, 2, 3].map(() => pool.use(async (connection) => (await sleep(50), await read(connection), connection.url))));
    assert.deepEqual(parallel, [backup.url, backup.url, backup.url], 'fails over');
    await primary.restore();
    await sleep(DOWN_MS * 2);
    const recovered = () => lines.some((line) => line['event'] === 'ldap.connect.recovered' && line['url'] === primary.url);
    // taken from the pool while the primary is checked in the background; it keeps its connection to the end
    const inUse = pool.use(async (connection) => {
      await until(async () => recovered(), Boolean, 'the background check of the primary');
      await read(connection);
      return connection.url;
    });
    assert.equal(await inUse, backup.url);
    assert.equal(await server(), primary.url, 'moves back to the primary');
    assert.equal(pool.stats().open, 1, 'every connection to the backup was closed');
  } finally {
    await pool.close();
  }
});
