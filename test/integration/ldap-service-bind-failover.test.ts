import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'ldapts';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { boot, type Booted } from '../helpers/boot.ts';
import { createRp, authRequest, rpBrowser, isPasswordPage, type TestRp } from '../helpers/oidc-rp.ts';
import { fixtureLdif } from '../helpers/ldap-directory.ts';
import type { Page } from '../helpers/browser.ts';

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
