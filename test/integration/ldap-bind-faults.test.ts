import { fixtureLdif, withDirectory } from '../helpers/ldap-directory.ts';
import { ldapDirectorySchema } from '../../src/directory/ldap-config.ts';
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'ldapts';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { boot, type Booted } from '../helpers/boot.ts';
import { createRp, authRequest, rpBrowser, isPasswordPage, type TestRp } from '../helpers/oidc-rp.ts';
import type { Page } from '../helpers/browser.ts';
import { LdapFaultRelay } from '../helpers/ldap-fault-relay.ts';

const PEOPLE = 'ou=people,dc=example,dc=org';
const passwordOf = (uid: string): string => `Passw0rd!${uid}`;
const SEARCH_TIMEOUT_MS = 800;
/** Stepgate locks a login after this many failed passwords. */
const MAX_FAILURES_PER_USER = 3;
const UNAVAILABLE_TEXT = /cannot reach the user directory/;

let slapd: SlapdHandle;
let relay: LdapFaultRelay;
let app: Booted;
let rp: TestRp;

/** One sign-in in a fresh browser up to the answer to the password form. */
async function signInWith(username: string, password: string): Promise<Page> {
  const request = await authRequest(rp);
  const browser = rpBrowser();
  const form = await browser.get(request.url.toString());
  assert.ok(isPasswordPage(form), `expected the password page, got ${form.status}`);
  return browser.submit(form, { username, password });
}

function assertSignedIn(page: Page): void {
  assert.ok(page.headers.get('location')?.startsWith(rp.redirectUri), `expected a redirect to the client, got ${page.status} ${page.body.slice(0, 300)}`);
}

/** The times slapd's ppolicy recorded a wrong password for the user (read as the rootdn, not through the relay). */
async function failureTimes(uid: string): Promise<string[]> {
  const client = new Client({ url: slapd.url });
  try {
    await client.bind(slapd.rootDn, slapd.rootPassword);
    const { searchEntries } = await client.search(`uid=${uid},${PEOPLE}`, { scope: 'base', attributes: ['pwdFailureTime'] });
    return [searchEntries[0]?.['pwdFailureTime'] ?? []].flat().map(String);
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

before(async () => {
  slapd = await startSlapd({ ldif: await fixtureLdif() });
  relay = await LdapFaultRelay.to(slapd.port, slapd.serviceDn);
  app = await boot({
    directory: {
      kind: 'ldap',
      urls: [relay.url],
      connectTimeoutMs: 2000,
      searchTimeoutMs: SEARCH_TIMEOUT_MS,
      healthCheckSeconds: 0,
      bind: { dn: slapd.serviceDn, password: slapd.servicePassword },
      users: { baseDn: PEOPLE },
    },
    regulation: { maxFailuresPerUser: MAX_FAILURES_PER_USER },
  } as never);
  rp = await createRp(app);
});

after(async () => {
  await app?.close();
  await relay?.close();
  await slapd?.stop();
});

describe('user binds the directory does not judge', () => {
  for (const resultCode of [51, 52, 80]) {
    test(`LDAP ${resultCode} to the right password is 503, never a failed password or a lockout`, async () => {
      relay.mode = { kind: 'answer-user-binds', resultCode };
      try {
        for (let attempt = 1; attempt <= MAX_FAILURES_PER_USER + 2; attempt++) {
          const page = await signInWith('alice', passwordOf('alice'));
          assert.equal(page.status, 503, `attempt ${attempt}: ${page.body.slice(0, 300)}`);
          assert.match(page.body, UNAVAILABLE_TEXT);
        }
      } finally {
        relay.mode = { kind: 'pass' };
      }
      assertSignedIn(await signInWith('alice', passwordOf('alice')));
      assert.ok(app.logs.some((line) => line['event'] === 'ldap.bind.unjudged' && line['resultCode'] === resultCode));
    });
  }
});

describe('a user bind whose answer comes after searchTimeoutMs', () => {
  test('is sent once, so slapd counts one failure for a wrong password, and the sign-in is 503', async () => {
    // bob, so that no lockout left by the tests above can answer before the directory is asked
    assert.deepEqual(await failureTimes('bob'), []);
    const heldMs = SEARCH_TIMEOUT_MS * 3;
    relay.mode = { kind: 'hold-user-bind-responses', ms: heldMs };
    try {
      const page = await signInWith('bob', 'wrong-password');
      assert.equal(page.status, 503, page.body.slice(0, 300));
      assert.match(page.body, UNAVAILABLE_TEXT);
      assert.equal((await failureTimes('bob')).length, 1);
    } finally {
      relay.mode = { kind: 'pass' };
    }
  });
});

describe('a password change whose user bind the directory does not judge', () => {
  test('LDAP 51, 52 and 80 to the current password are directory-unavailable, never wrong-current (a counted guess)', async () => {
    const config = ldapDirectorySchema.parse({ kind: 'ldap', urls: [relay.url], connectTimeoutMs: 2000, searchTimeoutMs: SEARCH_TIMEOUT_MS, healthCheckSeconds: 0, bind: { dn: slapd.serviceDn, password: slapd.servicePassword }, users: { baseDn: PEOPLE } });
    await withDirectory(config, async (directory) => {
      for (const resultCode of [51, 52, 80]) {
        relay.mode = { kind: 'answer-user-binds', resultCode };
        try {
          const outcome = await directory.changePassword((await directory.findUser('carol'))!.id, passwordOf('carol'), 'Brand-new-pass-1!');
          assert.equal(outcome.ok === false && outcome.reason, 'directory-unavailable', `LDAP ${resultCode}`);
        } finally {
          relay.mode = { kind: 'pass' };
        }
      }
      const wrong = await directory.changePassword((await directory.findUser('carol'))!.id, 'not-her-password', 'Brand-new-pass-1!');
      assert.equal(wrong.ok === false && wrong.reason, 'wrong-current', 'control: a wrong password the directory judged');
    });
  });
});
