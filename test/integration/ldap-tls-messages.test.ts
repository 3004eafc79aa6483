import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { createTestCa, type TestCa } from '../helpers/tls-ca.ts';
import { diagnoseLdap } from '../../src/directory/ldap-diagnose.ts';
import { ldapDirectorySchema, type LdapDirectoryConfig } from '../../src/directory/ldap-config.ts';

const run = promisify(execFile);
const EXPIRED_ON = '2025-02-01T00:00:00.000Z';

let ca: TestCa;
let expired: SlapdHandle;
let plain: SlapdHandle;

/** A server certificate for localhost / 127.0.0.1 from the test CA, valid in January 2025 only (`openssl ca` sets past dates). */
async function expiredCertificate(): Promise<{ certFile: string; keyFile: string }> {
  const file = (name: string): string => join(ca.dir, name);
  await mkdir(file('issued'));
  await writeFile(file('index.txt'), '');
  await writeFile(file('serial'), '01\n');
  await writeFile(file('ca.cnf'), `[ca]\ndefault_ca=test\n[test]\ndatabase=${file('index.txt')}\nserial=${file('serial')}\nnew_certs_dir=${file('issued')}\ndefault_md=sha256\npolicy=any\n[any]\ncommonName=supplied\n`);
  await writeFile(file('expired.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  await run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', file('expired.key'), '-out', file('expired.csr'), '-subj', '/CN=localhost']);
  await run('openssl', ['ca', '-batch', '-config', file('ca.cnf'), '-cert', ca.caFile, '-keyfile', file('ca.key'), '-in', file('expired.csr'), '-out', file('expired.pem'),
    '-startdate', '20250101000000Z', '-enddate', '20250201000000Z', '-extfile', file('expired.ext'), '-notext']);
  return { certFile: file('expired.pem'), keyFile: file('expired.key') };
}

before(async () => {
  ca = await createTestCa();
  [expired, plain] = await Promise.all([expiredCertificate().then((cert) => startSlapd({ tls: { ...cert, caFile: ca.caFile } })), startSlapd()]);
});

after(async () => {
  await Promise.all([expired?.stop(), plain?.stop()]);
  await ca?.cleanup();
});

function config(overrides: Record<string, unknown>): LdapDirectoryConfig {
  return ldapDirectorySchema.parse({
    kind: 'ldap',
    connectTimeoutMs: 2000,
    searchTimeoutMs: 2000,
    tls: { caFile: ca.caFile },
    bind: { dn: plain.serviceDn, password: plain.servicePassword },
    users: { baseDn: `ou=people,${plain.baseDn}` },
    ...overrides,
  });
}

test('an expired server certificate is named as expired, with its end date, over LDAPS and StartTLS', async () => {
  for (const overrides of [{ urls: [expired.ldapsUrl] }, { urls: [expired.url], startTls: true }]) {
    const [connect] = await diagnoseLdap(config(overrides));
    assert.equal(connect?.ok, false);
    assert.match(String(connect?.detail), new RegExp(`certificate expired on ${EXPIRED_ON.replace(/\./g, '\\.')}`));
    assert.doesNotMatch(String(connect?.detail), /tls\.caFile/);
  }
});

test('StartTLS to a server without TLS says that the server does not offer it, and what to do', async () => {
  const [connect] = await diagnoseLdap(config({ urls: [plain.url], startTls: true }));
  assert.equal(connect?.ok, false);
  assert.match(String(connect?.detail), /the server does not offer StartTLS \(LDAP 2 .*\): use ldaps:\/\/ or enable TLS on the server/);
});
