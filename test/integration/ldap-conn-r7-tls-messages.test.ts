import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { createTestCa, type TestCa } from '../helpers/tls-ca.ts';
import { diagnoseLdap } from '../../src/directory/ldap-diagnose.ts';
import { LdapConnector } from '../../src/directory/ldap-connector.ts';
import { ldapDirectorySchema, type LdapDirectoryConfig } from '../../src/directory/ldap-config.ts';
import { capture, withDirectory } from '../helpers/ldap-directory.ts';

const run = promisify(execFile);

let ca: TestCa;
let wrongHost: SlapdHandle;

/** A server certificate from the test CA for ldap.wrong.example only (the tests connect to 127.0.0.1). */
async function wrongHostCertificate(): Promise<{ certFile: string; keyFile: string }> {
  const file = (name: string): string => join(ca.dir, name);
  await writeFile(file('wrong.ext'), 'subjectAltName=DNS:ldap.wrong.example\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  await run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', file('wrong.key'), '-out', file('wrong.csr'), '-subj', '/CN=ldap.wrong.example']);
  await run('openssl', ['x509', '-req', '-in', file('wrong.csr'), '-CA', ca.caFile, '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file('wrong.pem'), '-days', '2', '-extfile', file('wrong.ext')]);
  return { certFile: file('wrong.pem'), keyFile: file('wrong.key') };
}

before(async () => {
  ca = await createTestCa();
  wrongHost = await startSlapd({ tls: { ...(await wrongHostCertificate()), caFile: ca.caFile } });
});

after(async () => {
  await wrongHost?.stop();
  await ca?.cleanup();
});

function config(overrides: Record<string, unknown>): LdapDirectoryConfig {
  return ldapDirectorySchema.parse({
    kind: 'ldap',
    urls: [wrongHost.ldapsUrl],
    connectTimeoutMs: 2000,
    searchTimeoutMs: 2000,
    tls: { caFile: ca.caFile },
    bind: { dn: wrongHost.serviceDn, password: wrongHost.servicePassword },
    users: { baseDn: `ou=people,${wrongHost.baseDn}` },
    ...overrides,
  });
}

/** The error's message as the server's log shows it (pino's error serializer, which appends causes). */
function logged(error: unknown): string {
  let line = '';
  pino({}, { write: (text: string) => void (line = text) }).error({ err: error }, 'failed');
  return String((JSON.parse(line) as { err: { message: string } }).err.message);
}

test('a certificate for another host name: the message names the names it is for, over LDAPS and StartTLS', async () => {
  for (const overrides of [{}, { urls: [wrongHost.url], startTls: true }]) {
    const [connect] = await diagnoseLdap(config(overrides));
    assert.equal(connect?.ok, false);
    assert.match(String(connect?.detail), /ERR_TLS_CERT_ALTNAME_INVALID: the server's certificate is for DNS:ldap\.wrong\.example, not 127\.0\.0\.1: put a name it carries in urls, or give the server a certificate for 127\.0\.0\.1$/);
  }
});

test('tls.rejectUnauthorized false: directory test says that the certificate is not checked', async () => {
  for (const overrides of [{}, { urls: [wrongHost.url], startTls: true }]) {
    const [connect] = await diagnoseLdap(config({ ...overrides, tls: { caFile: ca.caFile, rejectUnauthorized: false } }));
    assert.equal(connect?.ok, true, String(connect?.detail));
    assert.match(String(connect?.detail), /reachable \(TLS, but the server's certificate is not checked: tls\.rejectUnauthorized is false\)$/);
  }
  const [checked] = await diagnoseLdap(config({ urls: [wrongHost.url], startTls: true, tls: {} }));
  assert.doesNotMatch(String(checked?.detail), /not checked/);
});

test('tls.rejectUnauthorized false: the server warns at start that the certificate is not checked', async () => {
  const warned = async (overrides: Record<string, unknown>) => {
    const { logger, lines } = capture();
    await withDirectory(config(overrides), async () => undefined, logger);
    return lines.filter((line) => line['event'] === 'ldap.tls.unverified' && line['level'] === 40).length;
  };
  assert.equal(await warned({ urls: [wrongHost.url], startTls: true, tls: { rejectUnauthorized: false } }), 1);
  assert.equal(await warned({ tls: { rejectUnauthorized: false } }), 1, 'ldaps://');
  assert.equal(await warned({ urls: [wrongHost.url], startTls: true, tls: { caFile: ca.caFile } }), 0);
});

test('a private key given as tls.caFile is named as such, not as an untrusted certificate', async () => {
  const [connect] = await diagnoseLdap(config({ tls: { caFile: ca.keyFile } }));
  assert.equal(connect?.ok, false);
  assert.equal(connect?.detail, `tls.caFile ${ca.keyFile} holds a private key, not a certificate: give the CA certificate that issued the server's certificate (PEM, "-----BEGIN CERTIFICATE-----")`);
  const notPem = join(ca.dir, 'notes.txt');
  await writeFile(notPem, 'the CA is on the wiki\n');
  const [other] = await diagnoseLdap(config({ tls: { caFile: notPem } }));
  assert.match(String(other?.detail), new RegExp(`^tls\\.caFile ${notPem} holds no PEM certificate: `));
});

test('connection errors say each thing once, also as the log shows them', async () => {
  const missing = join(ca.dir, 'missing.pem');
  const connector = new LdapConnector(config({ tls: { caFile: missing } }));
  const unreadable = await connector.connectTo(wrongHost.ldapsUrl!).then(() => assert.fail('connected without a CA file'), (error: unknown) => error);
  assert.equal(logged(unreadable), `cannot read tls.caFile ${missing}: ENOENT: no such file or directory, open '${missing}'`);

  const refused = await new LdapConnector(config({})).connectTo(wrongHost.ldapsUrl!).then(() => assert.fail('connected to the wrong host'), (error: unknown) => error);
  const message = logged(refused);
  assert.equal(message.split('ERR_TLS_CERT_ALTNAME_INVALID').length, 2, message);
});
