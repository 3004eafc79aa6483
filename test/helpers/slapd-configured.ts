import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { freePort } from '../../scripts/free-port.ts';
import type { SlapdHandle } from '../../scripts/slapd.ts';

const run = promisify(execFile);

const running = new Set<ReturnType<typeof spawn>>();
// a crashed test run must not leave these slapd processes behind; only those started here are touched
process.on('exit', () => running.forEach((child) => child.kill('SIGKILL')));

export interface ConfiguredSlapdOptions {
  /** The database's suffix, `dc=…` or `o=…`; its entry and `cn=service,<suffix>` (the service account) are created. */
  suffix: string;
  /** Modules besides back_mdb, e.g. `memberof.la` (from Debian's /usr/lib/ldap). */
  modules?: string[];
  /** Lines before `database`, e.g. `security ssf=128`. */
  global?: string[];
  /** Lines after the database's own: access rules (the default lets every bound account read everything), overlays. */
  database?: string[];
  /** Entries loaded with slapadd before the start. Overlays do not see them: what an overlay keeps (memberOf) needs entries added over LDAP. */
  ldif?: string;
}

/** The suffix entry and the service account, whichever kind of suffix. */
function baseEntries(suffix: string, servicePassword: string): string {
  const [type, value] = suffix.split(',')[0]!.split('=') as [string, string];
  const suffixEntry = /^dc$/i.test(type) ? `objectClass: dcObject\nobjectClass: organization\ndc: ${value}\no: ${value}` : `objectClass: organization\no: ${value}`;
  return `dn: ${suffix}\n${suffixEntry}\n\ndn: cn=service,${suffix}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: service\nuserPassword: ${servicePassword}\n`;
}

/** Whether something accepts connections on the port. */
const accepts = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => resolve(true)).once('error', () => resolve(false));
    socket.once('close', () => socket.destroy()).once('connect', () => socket.end());
  });

/**
 * A slapd with configuration lines scripts/slapd.ts has no option for (the memberOf overlay, access
 * rules that hide attributes from the service account, `security ssf`), on 127.0.0.1; the handle is
 * scripts/slapd.ts's, so the helpers taking one work with it.
 */
export async function startConfiguredSlapd(options: ConfiguredSlapdOptions): Promise<SlapdHandle> {
  const { suffix } = options;
  const rootPassword = 'root-secret';
  const servicePassword = 'service-secret';
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-slapd-configured-'));
  const conf = join(dir, 'slapd.conf');
  let child: ReturnType<typeof spawn> | undefined;
  try {
    await mkdir(join(dir, 'db'));
    await writeFile(
      conf,
      [
        ...['core', 'cosine', 'nis', 'inetorgperson'].map((schema) => `include /etc/ldap/schema/${schema}.schema`),
        'modulepath /usr/lib/ldap',
        'moduleload back_mdb',
        ...(options.modules ?? []).map((module) => `moduleload ${module}`),
        `pidfile ${join(dir, 'slapd.pid')}`,
        ...(options.global ?? []),
        'database mdb',
        `suffix "${suffix}"`,
        `rootdn "cn=admin,${suffix}"`,
        `rootpw ${rootPassword}`,
        `directory ${join(dir, 'db')}`,
        'maxsize 1073741824',
        'index objectClass,uid,cn,member eq',
        ...(options.database ?? ['access to attrs=userPassword by self write by anonymous auth by * none', 'access to * by users read by * none']),
        '',
      ].join('\n'),
    );
    await writeFile(join(dir, 'data.ldif'), [baseEntries(suffix, servicePassword), options.ldif ?? ''].join('\n'));
    await run('slapadd', ['-q', '-f', conf, '-l', join(dir, 'data.ldif')]);
    const port = await freePort();
    const url = `ldap://127.0.0.1:${port}`;
    // -d 0 keeps slapd in the foreground as our child, so stop() can wait for its exit
    child = spawn('slapd', ['-d', '0', '-f', conf, '-h', `${url}/`], { stdio: 'ignore' });
    running.add(child);
    const exited = new Promise<void>((resolve) => child!.once('exit', () => resolve()));
    let pid = 0;
    for (let attempt = 0; attempt < 200 && !(pid > 0 && (await accepts(port))); attempt++) {
      if (child.exitCode !== null) throw new Error(`slapd exited during start (code ${child.exitCode}); check ${conf}`);
      await sleep(25);
      pid = Number((await readFile(join(dir, 'slapd.pid'), 'utf8').catch(() => '')).trim());
    }
    if (!(pid > 0)) throw new Error('slapd did not start in time');
    const started = child;
    const stop = async (): Promise<void> => {
      if (running.delete(started)) {
        started.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    };
    return { url, port, baseDn: suffix, rootDn: `cn=admin,${suffix}`, rootPassword, serviceDn: `cn=service,${suffix}`, servicePassword, dir, pid, stop };
  } catch (err) {
    if (child) running.delete(child);
    child?.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
