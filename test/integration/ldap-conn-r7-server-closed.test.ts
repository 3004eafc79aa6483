import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { renderLdifTemplate, startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { createTestCa, type TestCa } from '../helpers/tls-ca.ts';
import { TcpRelay } from '../helpers/tcp-relay.ts';
import { PEOPLE, personLdif } from '../helpers/ldap-directory.ts';
import { LdapDirectory } from '../../src/directory/ldap-directory.ts';
import { ldapDirectorySchema, type LdapDirectoryConfig } from '../../src/directory/ldap-config.ts';

/**
 * A server closes pooled connections while they are idle: slapd's idletimeout, a restart. The relays
 * stand between Stepgate and slapd and close every connection at once, as a restart does, then accept
 * new ones again. After StartTLS, ldapts still took such a connection for open, and the next request
 * written there waited out searchTimeoutMs: a password bind (never retried) failed as "unavailable".
 */
const SEARCH_TIMEOUT_MS = 4000;
const BASE = 'dc=example,dc=org';
const ALICE_PASSWORD = 'Alice-pass-1';
const GRACE_PASSWORD = 'Passw0rd!grace';

let ca: TestCa;
let slapd: SlapdHandle;
let plain: TcpRelay;
let ldaps: TcpRelay;

const gracePolicy = `dn: cn=grace3,ou=policies,${BASE}\nobjectClass: pwdPolicy\nobjectClass: device\ncn: grace3\npwdAttribute: userPassword\npwdMaxAge: 7776000\npwdAllowUserChange: TRUE\npwdGraceAuthNLimit: 3\n`;
const graceUser = `dn: uid=grace,${PEOPLE}\nobjectClass: inetOrgPerson\nuid: grace\ncn: grace\nsn: grace\nuserPassword: ${GRACE_PASSWORD}\npwdChangedTime: {{now-100d}}\npwdPolicySubentry: cn=grace3,ou=policies,${BASE}\n`;

before(async () => {
  ca = await createTestCa();
  slapd = await startSlapd({
    tls: { certFile: ca.certFile, keyFile: ca.keyFile, caFile: ca.caFile },
    ldif: [personLdif({ uid: 'alice', cn: 'Alice', sn: 'A', password: ALICE_PASSWORD }), renderLdifTemplate(gracePolicy), renderLdifTemplate(graceUser)],
  });
  [plain, ldaps] = await Promise.all([TcpRelay.to(slapd.port), TcpRelay.to(slapd.ldapsPort!)]);
});

after(async () => {
  await Promise.all([plain?.cut(), ldaps?.cut()]);
  await slapd?.stop();
  await ca?.cleanup();
});

function config(transport: Record<string, unknown>): LdapDirectoryConfig {
  return ldapDirectorySchema.parse({
    kind: 'ldap',
    connectTimeoutMs: 2000,
    searchTimeoutMs: SEARCH_TIMEOUT_MS,
    healthCheckSeconds: 0,
    tls: { caFile: ca.caFile },
    bind: { dn: slapd.serviceDn, password: slapd.servicePassword },
    users: { baseDn: PEOPLE },
    ...transport,
  });
}

/** The server closes every connection, and takes new ones again. */
async function serverClosesConnections(relay: TcpRelay): Promise<void> {
  await relay.cut();
  await relay.restore();
  await sleep(100); // the closes reach the client
}

async function timedSignIn(directory: LdapDirectory): Promise<{ ok: boolean; ms: number; detail: string }> {
  const start = performance.now();
  const outcome = await directory.authenticate('alice', ALICE_PASSWORD);
  return { ok: outcome.ok, ms: performance.now() - start, detail: JSON.stringify(outcome).slice(0, 300) };
}

const transports = [
  { name: 'ldap://', relay: () => plain, transport: () => ({ urls: [plain.url] }) },
  { name: 'ldap:// with StartTLS', relay: () => plain, transport: () => ({ urls: [plain.url], startTls: true }) },
  { name: 'ldaps://', relay: () => ldaps, transport: () => ({ urls: [ldaps.url.replace(/^ldap:/, 'ldaps:')] }) },
];

for (const { name, relay, transport } of transports) {
  test(`${name}: connections the server closed are replaced, and the next sign-ins work at once`, async () => {
    const directory = new LdapDirectory(config(transport()));
    try {
      assert.equal((await timedSignIn(directory)).ok, true, 'before');
      await serverClosesConnections(relay());
      for (const attempt of [1, 2]) {
        const signIn = await timedSignIn(directory);
        assert.equal(signIn.ok, true, `sign-in #${attempt} after the close: ${signIn.detail}`);
        // a closed connection taken for open costs a whole searchTimeoutMs before anything else happens
        assert.ok(signIn.ms < SEARCH_TIMEOUT_MS, `sign-in #${attempt} took ${Math.round(signIn.ms)} ms`);
      }
    } finally {
      await directory.close();
    }
  });
}

test('StartTLS: a grace sign-in\'s kept bind that the server closed is replaced by a new bind, and the password change works', async () => {
  const directory = new LdapDirectory(config({ urls: [plain.url], startTls: true }));
  try {
    const signIn = await directory.authenticate('grace', GRACE_PASSWORD);
    assert.ok(!signIn.ok && signIn.reason === 'account-state' && signIn.state === 'password-expired' && signIn.heldBindId, JSON.stringify(signIn));
    const graceId = (await directory.findUser('grace'))!.id;
    await serverClosesConnections(plain);
    const start = performance.now();
    const changed = await directory.changePassword(graceId, GRACE_PASSWORD, 'Brand-new-Pw1', undefined, { heldBindId: signIn.heldBindId });
    assert.deepEqual(changed, { ok: true });
    assert.ok(performance.now() - start < SEARCH_TIMEOUT_MS, `the change took ${Math.round(performance.now() - start)} ms`);
  } finally {
    await directory.close();
  }
});
