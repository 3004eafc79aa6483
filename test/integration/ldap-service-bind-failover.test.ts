import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'ldapts';
import { pino } from 'pino';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { boot, type Booted } from '../helpers/boot.ts';
import { createRp, authRequest, rpBrowser, isPasswordPage, type TestRp } from '../helpers/oidc-rp.ts';
import { fixtureLdif } from '../helpers/ldap-directory.ts';
import type { Page } from '../helpers/browser.ts';
import { DirectoryHealth } from '../../src/directory/directory-health.ts';
import { diagnoseLdap } from '../../src/directory/ldap-diagnose.ts';
import { ldapDirectorySchema } from '../../src/directory/ldap-config.ts';
import { runCli } from '../../src/cli/run-cli.ts';
import { directoryCommands } from '../../src/cli/commands/directory.ts';
import { parseConfig } from '../../src/config/load.ts';
import { systemClock } from '../../src/core/clock.ts';

const PEOPLE = 'ou=people,dc=example,dc=org';
const ALICE_PASSWORD = 'Passw0rd!alice';

/**
 * Stepgate's service account, under the servers' default password policy: three wrong passwords
 * lock it (pwdMaxFailure), so each one the server receives is counted.
 */
const SERVICE_DN = 'cn=stepgate,dc=example,dc=org';
const serviceEntry = (password: string): string => `dn: ${SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: stepgate\nuserPassword: ${password}\n`;
const OLD_PASSWORD = 'old-service-password';
const NEW_PASSWORD = 'new-service-password';

/**
 * Two replicas of one directory; the primary still has the service account's old password (a
 * password change not yet replicated there).
 */
let primary: SlapdHandle;
let backup: SlapdHandle;

function directory(servicePassword: string): Record<string, unknown> {
  return {
    kind: 'ldap',
    urls: [primary.url, backup.url],
    connectTimeoutMs: 2000,
    searchTimeoutMs: 2000,
    healthCheckSeconds: 0,
    bind: { dn: SERVICE_DN, password: servicePassword },
    users: { baseDn: PEOPLE },
  };
}

async function signIn(rp: TestRp): Promise<Page> {
  const request = await authRequest(rp);
  const browser = rpBrowser();
  const form = await browser.get(request.url.toString());
  assert.ok(isPasswordPage(form), `expected the password page, got ${form.status}`);
  return browser.submit(form, { username: 'alice', password: ALICE_PASSWORD });
}

/** The wrong service passwords the server's ppolicy counted (read as its rootdn). */
async function serviceFailures(server: SlapdHandle): Promise<number> {
  const client = new Client({ url: server.url });
  try {
    await client.bind(server.rootDn, server.rootPassword);
    const { searchEntries } = await client.search(SERVICE_DN, { scope: 'base', attributes: ['pwdFailureTime'] });
    return [searchEntries[0]?.['pwdFailureTime'] ?? []].flat().length;
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

before(async () => {
  const ldif = await fixtureLdif();
  [primary, backup] = await Promise.all([startSlapd({ ldif: [...ldif, serviceEntry(OLD_PASSWORD)] }), startSlapd({ ldif: [...ldif, serviceEntry(NEW_PASSWORD)] })]);
});

after(async () => {
  await Promise.all([primary?.stop(), backup?.stop()]);
});

describe('a server that refuses the service account', () => {
  let app: Booted;
  before(async () => {
    app = await boot({ directory: directory(NEW_PASSWORD) } as never);
  });
  after(async () => {
    await app?.close();
  });

  test('is left out and the next server serves the sign-ins; the refused password is sent to it once within the back-off', async () => {
    const rp = await createRp(app);
    // parallel sign-ins open several service connections at once; then sequential ones reuse them
    const pages = [...(await Promise.all([signIn(rp), signIn(rp), signIn(rp), signIn(rp)])), await signIn(rp), await signIn(rp)];
    for (const page of pages) assert.ok(page.headers.get('location')?.startsWith(rp.redirectUri), `expected a redirect to the client, got ${page.status} ${page.body.slice(0, 300)}`);
    assert.equal(await serviceFailures(primary), 1, 'one wrong service password on the primary, not one per connection or sign-in');
    const ready = await fetch(`${app.url}/readyz`);
    assert.equal(ready.status, 200);
    const refused = app.logs.filter((line) => line['event'] === 'ldap.bind.service-refused');
    assert.deepEqual(refused.map((line) => line['url']), [primary.url]);
    assert.equal(app.logs.filter((line) => line['event'] === 'ldap.unavailable').length, 0);
  });
});

describe('every server refusing the service account', () => {
  test('is 503 "cannot reach the user directory", and the log names each server that refused', async () => {
    const app = await boot({ directory: directory('wrong-everywhere') } as never);
    try {
      const rp = await createRp(app);
      const page = await signIn(rp);
      assert.equal(page.status, 503, page.body.slice(0, 300));
      assert.match(page.body, /cannot reach the user directory/);
      const logged = String(app.logs.find((line) => line['event'] === 'ldap.unavailable')?.['error']);
      assert.match(logged, /^service bind failed: /);
      for (const server of [primary, backup]) assert.ok(logged.includes(`${SERVICE_DN}: LDAP 49 invalid credentials (${server.url})`), logged);
    } finally {
      await app.close();
    }
  });
});

describe('the health check and directory test, with the primary refusing the service account', () => {
  test('the health check reports the directory usable and warns, naming the server that refused', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const report = await new DirectoryHealth(() => diagnoseLdap(ldapDirectorySchema.parse(directory(NEW_PASSWORD)), { logger }), logger, 60).run();
    assert.equal(report?.usable, true);
    assert.deepEqual(Object.entries(report!.serviceBinds).map(([url, bind]) => [url, bind.ok]), [[primary.url, false], [backup.url, true]]);
    const health = lines.filter((line) => line['event'] === 'directory.health');
    assert.equal(health.length, 1);
    assert.equal(health[0]!['level'], 40, 'a warning, not "sign-ins cannot work"');
    assert.match(String(health[0]!['msg']), /^directory health: service bind failed: .*invalid credentials/i);
    assert.ok(String(health[0]!['msg']).includes(`(${primary.url})`), `names the server that refused: ${String(health[0]!['msg'])}`);
  });

  test('directory test shows the refused bind on the primary, then the bind and the user lookup on the backup', async () => {
    const config = parseConfig({ dataDir: '/nonexistent', directory: directory(NEW_PASSWORD) });
    const out: string[] = [];
    const unused = (): never => assert.fail('directory test needs no store or secret key');
    const code = await runCli(directoryCommands, ['directory', 'test', '--user', 'alice'], { config: () => config, store: unused, box: unused, clock: systemClock, out: (line) => out.push(line), err: () => undefined });
    const shown = out.join('\n');
    assert.equal(code, 1, 'a server that refuses the service account is a failed step');
    const binds = out.filter((line) => line.slice(6).startsWith('service-bind '));
    assert.equal(binds.length, 2, shown);
    assert.match(binds[0]!, new RegExp(`^FAIL +service-bind +service bind failed: ${SERVICE_DN}: LDAP 49 invalid credentials \\(${primary.url}\\)`));
    assert.match(binds[1]!, new RegExp(`^ok +service-bind +bound as ${SERVICE_DN} on ${backup.url} `));
    assert.match(shown, /^ok +user-lookup +found uid=alice,/m);
  });
});
