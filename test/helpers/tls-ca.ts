/** A throwaway CA and a server certificate for localhost / 127.0.0.1, made with the openssl CLI. */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCa {
  dir: string;
  /** PEM of the CA certificate: what a client trusts. */
  caFile: string;
  /** Server certificate (SAN DNS:localhost, IP:127.0.0.1) and its key. */
  certFile: string;
  keyFile: string;
  cleanup(): Promise<void>;
}

// EC keys: generation takes milliseconds, unlike RSA, and GnuTLS-linked slapd accepts them
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export async function createTestCa(name = 'Stepgate Test CA'): Promise<TestCa> {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-ca-'));
  const file = (n: string): string => join(dir, n);
  try {
    await run('openssl', [
      'req', '-x509', ...EC_KEY, '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '2', '-subj', `/CN=${name}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    await run('openssl', ['req', '-new', ...EC_KEY, '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=localhost']);
    await writeFile(
      file('ext.cnf'),
      'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n',
    );
    await run('openssl', [
      'x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial',
      '-out', file('server.pem'), '-days', '2', '-extfile', file('ext.cnf'),
    ]);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    dir,
    caFile: file('ca.pem'),
    certFile: file('server.pem'),
    keyFile: file('server.key'),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
