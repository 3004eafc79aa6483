import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Attribute, Change, Client } from 'ldapts';
import { pino } from 'pino';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { PEOPLE, personLdif } from '../helpers/ldap-directory.ts';
import { DirectoryHealth } from '../../src/directory/directory-health.ts';
import { diagnoseLdap } from '../../src/directory/ldap-diagnose.ts';
import { LdapConnector } from '../../src/directory/ldap-connector.ts';
import { ldapDirectorySchema } from '../../src/directory/ldap-config.ts';
import { runCli } from '../../src/cli/run-cli.ts';
import { directoryCommands } from '../../src/cli/commands/directory.ts';
import { parseConfig } from '../../src/config/load.ts';
import { systemClock } from '../../src/core/clock.ts';

/**
 * bind.password is wrong (a rotation half done) and backupBind is right: sign-ins work on the backup
 * account, which hid the refusal until the backup's password expired as well. `directory test` and
 * the periodic health check must say that bind.dn is refused.
 */
/** The back-off after a refused service password, shortened from 10 s. */
const BACKOFF_MS = 1000;
const BACKUP_DN = 'cn=stepgate-backup,dc=example,dc=org';
const BACKUP_PASSWORD = 'backup-secret';
const backupEntry = `dn: ${BACKUP_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: stepgate-backup\nuserPassword: ${BACKUP_PASSWORD}\n`;

let slapd: SlapdHandle;

before(async () => {
  slapd = await startSlapd({ ldif: [backupEntry, personLdif({ uid: 'alice', cn: 'Alice', sn: 'A', password: 'Alice-pass-1' })] });
});

after(async () => {
  await slapd?.stop();
});

function directory(): Record<string, unknown> {
  return {
    kind: 'ldap',
    urls: [slapd.url],
    connectTimeoutMs: 2000,
    searchTimeoutMs: 2000,
    healthCheckSeconds: 0,
    bind: { dn: slapd.serviceDn, password: 'the-old-password' },
    backupBind: { dn: BACKUP_DN, password: BACKUP_PASSWORD },
    users: { baseDn: PEOPLE },
  };
}

test('directory test warns that bind.dn is refused and the backup account is used, and exits 1', async () => {
  const config = parseConfig({ dataDir: '/nonexistent', directory: directory() });
  const out: string[] = [];
  const unused = (): never => assert.fail('directory test needs no store or secret key');
  const code = await runCli(directoryCommands, ['directory', 'test', '--user', 'alice'], { config: () => config, store: unused, box: unused, clock: systemClock, out: (line) => out.push(line), err: () => undefined });
  const shown = out.join('\n');
  const binds = out.filter((line) => line.slice(6).startsWith('service-bind '));
  assert.equal(binds.length, 1, shown);
  assert.match(binds[0]!, new RegExp(`^WARN +service-bind +bound as ${BACKUP_DN} \\(backupBind\\) on ${slapd.url}; bind\\.dn is refused: ${slapd.serviceDn}: LDAP 49 invalid credentials \\(${slapd.url}\\); sign-ins use the backup account \\(backupBind\\)`));
  assert.match(shown, /^ok +user-lookup +found uid=alice,/m, 'the other steps run on the backup account');
  assert.equal(code, 1, shown);
});

/** The admin fixes the directory side: bind.dn's password becomes the configured one. */
async function setServicePassword(password: string): Promise<void> {
  const client = new Client({ url: slapd.url });
  try {
    await client.bind(slapd.rootDn, slapd.rootPassword);
    await client.modify(slapd.serviceDn, new Change({ operation: 'replace', modification: new Attribute({ type: 'userPassword', values: [password] }) }));
  } finally {
    await client.unbind();
  }
}

test('the health check warns at every run while bind.dn is refused (also while its password is not sent again), and says once when it binds again', async () => {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  const config = ldapDirectorySchema.parse(directory());
  // one connector for every run, as the server has: the second run is within the refusal's back-off
  const connector = new LdapConnector(config, logger, { serviceBindBackoffMs: BACKOFF_MS });
  const health = new DirectoryHealth(() => diagnoseLdap(config, { logger, connector }), logger, 60);
  for (let run = 1; run <= 2; run++) {
    const report = await health.run();
    assert.equal(report?.usable, true, 'sign-ins work on the backup account');
    assert.match(String(report?.serviceBinds[slapd.url]?.warning), /^bind\.dn is refused: /);
  }
  const logged = lines.filter((line) => line['event'] === 'directory.health');
  assert.deepEqual(logged.map((line) => line['level']), [40, 40], JSON.stringify(logged.map((line) => line['msg'])));
  assert.match(String(logged[0]!['msg']), new RegExp(`^directory health: bind\\.dn is refused: ${slapd.serviceDn}: LDAP 49 invalid credentials \\(${slapd.url}\\); sign-ins use the backup account \\(backupBind\\)$`));
  assert.match(String(logged[1]!['msg']), new RegExp(`^directory health: bind\\.dn is refused: ${slapd.serviceDn}: LDAP 49 invalid credentials \\(${slapd.url}; not tried again until `));

  await setServicePassword('the-old-password');
  await sleep(BACKOFF_MS * 1.5);
  const fixed = await health.run();
  assert.equal(fixed?.serviceBinds[slapd.url]?.warning, undefined, 'bind.dn binds again');
  assert.deepEqual(lines.filter((line) => line['event'] === 'directory.health').slice(2).map((line) => [line['level'], line['msg']]), [[30, 'directory health: every server reachable again']]);
});
