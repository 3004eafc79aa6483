import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { TcpRelay } from '../helpers/tcp-relay.ts';
import { boot } from '../helpers/boot.ts';
import { DirectoryHealth } from '../../src/directory/directory-health.ts';
import { diagnoseLdap } from '../../src/directory/ldap-diagnose.ts';
import { ldapDirectorySchema, type LdapDirectoryConfig } from '../../src/directory/ldap-config.ts';

type Line = Record<string, unknown>;

function capture(): { logger: pino.Logger; lines: Line[]; health(): Line[] } {
  const lines: Line[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) });
  return { logger, lines, health: () => lines.filter((line) => line['event'] === 'directory.health') };
}

describe('the periodic directory health check, against a real slapd', () => {
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

  function config(bindPassword = slapd.servicePassword): LdapDirectoryConfig {
    return ldapDirectorySchema.parse({
      kind: 'ldap',
      urls: [primary.url, backup.url],
      connectTimeoutMs: 1000,
      bind: { dn: slapd.serviceDn, password: bindPassword },
      users: { baseDn: `ou=people,${slapd.baseDn}` },
    });
  }

  test('healthy runs log once; a server down warns at every run; none reachable is an error; recovery is logged', async () => {
    const { logger, health } = capture();
    const checker = new DirectoryHealth(() => diagnoseLdap(config(), { logger }), logger, 60);

    const first = await checker.run();
    assert.equal(first?.usable, true);
    assert.deepEqual(Object.values(first!.servers).map((server) => server.ok), [true, true]);
    assert.equal(health().length, 1);
    assert.equal(health()[0]!['msg'], 'directory health: every server reachable, service bind works');
    await checker.run();
    assert.equal(health().length, 1, 'a healthy run after a healthy run says nothing');

    await primary.cut();
    for (let run = 0; run < 2; run++) {
      const report = await checker.run();
      assert.equal(report?.usable, true, 'sign-ins still work through the backup');
      assert.equal(report?.servers[primary.url]?.ok, false);
      assert.match(String(report?.servers[primary.url]?.detail), /ECONNREFUSED/);
    }
    const warnings = health().filter((line) => line['level'] === 40);
    assert.equal(warnings.length, 2, 'every run with a server down warns');
    assert.equal(warnings[0]!['msg'], `directory health: unreachable: ${primary.url}; sign-ins use the next server`);

    await backup.cut();
    assert.equal((await checker.run())?.usable, false);
    const error = health().at(-1)!;
    assert.equal(error['level'], 50);
    assert.equal(error['msg'], 'directory health: sign-ins cannot work: no server is reachable');

    await Promise.all([primary.restore(), backup.restore()]);
    assert.equal((await checker.run())?.usable, true);
    assert.equal(health().at(-1)!['msg'], 'directory health: every server reachable again');
    assert.equal(health().at(-1)!['level'], 30);
  });

  test('a service account that can no longer bind is an error naming the bind', async () => {
    const { logger, health } = capture();
    const report = await new DirectoryHealth(() => diagnoseLdap(config('not-the-password'), { logger }), logger, 60).run();
    assert.equal(report?.usable, false);
    assert.deepEqual(Object.entries(report!.serviceBinds).map(([url, bind]) => [url, bind.ok]), [[primary.url, false], [backup.url, false]]);
    const message = String(health().at(-1)!['msg']);
    assert.match(message, /^directory health: sign-ins cannot work: service bind failed: .*invalid credentials/i);
    for (const server of [primary, backup]) assert.ok(message.includes(`(${server.url})`), `names each server that refused: ${message}`);
  });

  test('the server runs it at start and then every healthCheckSeconds; 0 turns it off', async () => {
    const on = await boot({ directory: { ...config(), healthCheckSeconds: 1 } });
    const off = await boot({ directory: { ...config(), healthCheckSeconds: 0 } });
    try {
      const runs = () => on.logs.filter((line) => line['event'] === 'directory.health').length;
      await primary.cut();
      // The first run (at start) may have found both servers up; every run since warns about the primary.
      for (let waited = 0; runs() < 3 && waited < 300; waited++) await sleep(50);
      assert.ok(runs() >= 3, `three runs within 15 s, got ${runs()}`);
      assert.equal(off.logs.filter((line) => line['event'] === 'directory.health').length, 0);
    } finally {
      await primary.restore();
      await Promise.all([on.close(), off.close()]);
    }
  });
});
