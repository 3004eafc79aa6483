/**
 * Starts a private OpenLDAP slapd (Debian 12, 2.5) for tests and the benchmark: own temp dir, own
 * pidfile, 127.0.0.1 on free ports, fixtures loaded with slapadd before start (fast even for 10k users).
 * slapd 2.5 has the ppolicy schema built in (no ppolicy.schema to include); slapadd accepts
 * pwdPolicySubentry, pwdAccountLockedTime, pwdChangedTime and pwdReset, whereas ldapmodify refuses
 * pwdChangedTime without the relax control, so fixtures set time-dependent state through slapadd.
 */
import { freePort } from './free-port.ts';
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile, readFile, mkdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
const run = promisify(execFile);

// By full path, the one scripts/system-deps.ts checks: /usr/sbin is on root's PATH only (Debian's
// login.defs), so a user's `npm test` passed the check and then every slapd test failed with ENOENT.
const SLAPD = '/usr/sbin/slapd';
const SLAPADD = '/usr/sbin/slapadd';

export interface SlapdOptions {
  baseDn?: string;
  rootPassword?: string;
  /** Password of the service account `cn=service,<baseDn>` created with the base entries. */
  servicePassword?: string;
  /** LDIF texts loaded with slapadd after the base entries. */
  ldif?: string[];
  /** Suffix, ou=people, ou=groups, ou=policies, the default policy and the service account (default true). */
  baseEntries?: boolean;
  /** ppolicy overlay with a default policy; `false` leaves the overlay out. */
  ppolicy?: false | { useLockout?: boolean; policy?: Record<string, string | number | boolean> };
  tls?: { certFile: string; keyFile: string; caFile: string };
  /** back_monitor (cn=Monitor) readable by the rootdn: connection and operation counters for tests. */
  monitor?: boolean;
  /** slapd `loglevel` (e.g. 'stats'); written to <dir>/slapd.log. */
  logLevel?: string;
  /**
   * The database's size limit for everyone but the rootdn (slapd's default: 500). slapd caps a paged
   * search at the same total unless `pagedTotal` lifts that ('unlimited': only unpaged searches are
   * limited, as AD's MaxPageSize limits only pages).
   */
  sizeLimit?: { entries: number; pagedTotal?: number | 'unlimited' };
  /** Modules besides back_mdb (and ppolicy), e.g. `memberof.la` (from Debian's /usr/lib/ldap). */
  modules?: string[];
  /** Lines before `database`, e.g. `security ssf=128` or the include of another schema. */
  global?: string[];
  /**
   * Lines after the database's own, in place of its default access rules (every bound account reads
   * everything but passwords): access rules, overlays. The ppolicy overlay, when on, comes after them.
   */
  database?: string[];
}

export interface SlapdHandle {
  /** ldap://127.0.0.1:<port>; `ldapsUrl` only when `tls` was given. */
  url: string;
  ldapsUrl?: string;
  port: number;
  ldapsPort?: number;
  baseDn: string;
  rootDn: string;
  rootPassword: string;
  serviceDn: string;
  servicePassword: string;
  /** Temp dir with slapd.conf, the database, slapd.pid (and slapd.log with `logLevel`); removed by stop(). */
  dir: string;
  pid: number;
  /** SIGTERM by the pidfile's PID, wait for the exit, remove the temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

/** Lockout after 3 failures (5 min), 90-day maximum age with a 14-day warning, history 3, minimum length 8. */
export const DEFAULT_POLICY: Record<string, string | number | boolean> = {
  pwdAttribute: 'userPassword', pwdLockout: true, pwdMaxFailure: 3, pwdLockoutDuration: 300,
  pwdMaxAge: 90 * 86_400, pwdExpireWarning: 14 * 86_400, pwdInHistory: 3, pwdCheckQuality: 1,
  pwdMinLength: 8, pwdMustChange: true, pwdAllowUserChange: true, pwdGraceAuthNLimit: 0,
};

/** LDAP GeneralizedTime (UTC, seconds precision), as ppolicy stores it. */
export function generalizedTime(date: Date): string {
  return date.toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** Replaces `{{now}}`, `{{now-83d}}`, `{{now+2h}}` with GeneralizedTime, so fixtures can hold relative dates. */
export function renderLdifTemplate(text: string, now: Date = new Date()): string {
  const unitMs: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };
  return text.replace(/\{\{now(?:([+-]\d+)([dhms]))?\}\}/g, (_m, offset?: string, unit?: string) =>
    generalizedTime(new Date(now.getTime() + (offset ? Number(offset) * (unitMs[unit ?? 'd'] ?? 0) : 0))),
  );
}

export interface UsersLdifOptions {
  baseDn?: string;
  users: number;
  groups: number;
  /** Fixture password of user n is `${passwordPrefix}${n}` (default `Passw0rd!`). */
  passwordPrefix?: string;
}

/**
 * N users `uid=user<n>,ou=people` and M groups `cn=group<g>,ou=groups`: user n is a member of group n % M,
 * and group g is a member of group floor((g-1)/2), so the groups form a binary tree (nested groups at every depth).
 * Plain-text passwords keep slapadd of 10k users in the seconds range.
 */
export function generateUsersLdif(options: UsersLdifOptions): string {
  const baseDn = options.baseDn ?? 'dc=example,dc=org';
  const prefix = options.passwordPrefix ?? 'Passw0rd!';
  const out: string[] = [];
  for (let n = 0; n < options.users; n++) {
    const id = n.toString(16).padStart(12, '0');
    out.push(`dn: uid=user${n},ou=people,${baseDn}\nobjectClass: inetOrgPerson\nuid: user${n}\ncn: User ${n}\nsn: ${n}\nmail: user${n}@example.org\nentryUUID: 00000000-0000-4000-8000-${id}\nuserPassword: ${prefix}${n}\n`);
  }
  const members: string[][] = Array.from({ length: options.groups }, () => []);
  for (let n = 0; n < options.users && options.groups > 0; n++) members[n % options.groups]!.push(`uid=user${n},ou=people,${baseDn}`);
  for (let g = 1; g < options.groups; g++) members[Math.floor((g - 1) / 2)]!.push(`cn=group${g},ou=groups,${baseDn}`);
  for (let g = 0; g < options.groups; g++) {
    // groupOfNames needs at least one member
    const list = members[g]!.length ? members[g]! : [`cn=admin,${baseDn}`];
    out.push(`dn: cn=group${g},ou=groups,${baseDn}\nobjectClass: groupOfNames\ncn: group${g}\n${list.map((m) => `member: ${m}`).join('\n')}\n`);
  }
  return out.join('\n');
}

const running = new Set<number>();
// a crashed test run must not leave our slapd processes behind; only PIDs we started are touched
process.on('exit', () => running.forEach((pid) => killQuietly(pid, 'SIGKILL')));


const ldifValue = (v: string | number | boolean): string => (typeof v === 'boolean' ? (v ? 'TRUE' : 'FALSE') : String(v));

function baseLdif(baseDn: string, servicePassword: string, policy: Record<string, string | number | boolean> | null): string {
  const dc = /^dc=([^,]+)/i.exec(baseDn)?.[1] ?? 'example';
  const parts = [
    `dn: ${baseDn}\nobjectClass: dcObject\nobjectClass: organization\no: ${dc}\ndc: ${dc}\n`,
    `dn: ou=people,${baseDn}\nobjectClass: organizationalUnit\nou: people\n`,
    `dn: ou=groups,${baseDn}\nobjectClass: organizationalUnit\nou: groups\n`,
  ];
  // a mistyped service password somewhere must not lock the service account for everyone
  const exempt = policy ? `pwdPolicySubentry: cn=service-accounts,ou=policies,${baseDn}\n` : '';
  parts.push(`dn: cn=service,${baseDn}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: service\nuserPassword: ${servicePassword}\n${exempt}`);
  if (policy) {
    const attrs = Object.entries(policy).map(([k, v]) => `${k}: ${ldifValue(v)}`).join('\n');
    const entry = (cn: string, body: string): string => `dn: cn=${cn},ou=policies,${baseDn}\nobjectClass: pwdPolicy\nobjectClass: device\ncn: ${cn}\n${body}\n`;
    parts.push(`dn: ou=policies,${baseDn}\nobjectClass: organizationalUnit\nou: policies\n`);
    parts.push(entry('default', attrs), entry('service-accounts', 'pwdAttribute: userPassword\npwdLockout: FALSE'));
  }
  return parts.join('\n');
}

function slapdConf(dir: string, o: Required<Pick<SlapdOptions, 'baseDn' | 'rootPassword' | 'monitor'>> & SlapdOptions): string {
  const rootDn = `cn=admin,${o.baseDn}`;
  const ppolicy = o.ppolicy !== false;
  return [
    ...['core', 'cosine', 'nis', 'inetorgperson'].map((s) => `include /etc/ldap/schema/${s}.schema`),
    'modulepath /usr/lib/ldap',
    'moduleload back_mdb',
    ...(ppolicy ? ['moduleload ppolicy.la'] : []),
    ...(o.modules ?? []).map((module) => `moduleload ${module}`),
    `pidfile ${join(dir, 'slapd.pid')}`,
    `argsfile ${join(dir, 'slapd.args')}`,
    ...(o.logLevel ? [`logfile ${join(dir, 'slapd.log')}`, `loglevel ${o.logLevel}`] : []),
    ...(o.tls ? [`TLSCACertificateFile ${o.tls.caFile}`, `TLSCertificateFile ${o.tls.certFile}`, `TLSCertificateKeyFile ${o.tls.keyFile}`, 'TLSVerifyClient never'] : []),
    ...(o.global ?? []),
    'database mdb',
    `suffix "${o.baseDn}"`,
    `rootdn "${rootDn}"`,
    `rootpw ${o.rootPassword}`,
    `directory ${join(dir, 'db')}`,
    'maxsize 2147483648',
    'index objectClass,uid,mail,cn,member,uniqueMember,entryUUID eq',
    ...(o.sizeLimit ? [`sizelimit size=${o.sizeLimit.entries}${o.sizeLimit.pagedTotal === undefined ? '' : ` size.prtotal=${o.sizeLimit.pagedTotal}`}`] : []),
    // by default anonymous may only authenticate: a broken service bind must not silently work anonymously
    ...(o.database ?? ['access to attrs=userPassword by self write by anonymous auth by * none', 'access to * by users read by * none']),
    ...(ppolicy ? ['overlay ppolicy', `ppolicy_default "cn=default,ou=policies,${o.baseDn}"`] : []),
    ...(o.ppolicy !== false && o.ppolicy?.useLockout !== false ? ['ppolicy_use_lockout'] : []),
    ...(o.monitor ? ['database monitor', `access to * by dn.exact="${rootDn}" read by * none`] : []),
    '',
  ].join('\n');
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* already gone */
  }
}

/** Resolves once slapd accepts connections on every port and has written its pidfile. */
async function waitUntilReady(ports: number[], pidFile: string, exitInfo: () => string | null): Promise<number> {
  const deadline = Date.now() + 10_000;
  const accepts = (port: number): Promise<boolean> =>
    new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => resolve(true)).once('error', () => resolve(false));
      socket.once('close', () => socket.destroy()).once('connect', () => socket.end());
    });
  for (;;) {
    const failure = exitInfo();
    if (failure !== null) throw new Error(`slapd exited during start: ${failure}`);
    const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
    if (pid > 0 && (await Promise.all(ports.map(accepts))).every(Boolean)) return pid;
    if (Date.now() > deadline) throw new Error(`slapd did not start listening on ${ports.join(', ')} in time`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function startSlapd(options: SlapdOptions = {}): Promise<SlapdHandle> {
  const baseDn = options.baseDn ?? 'dc=example,dc=org';
  const rootPassword = options.rootPassword ?? randomBytes(9).toString('base64url');
  const servicePassword = options.servicePassword ?? 'service-secret';
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-slapd-'));
  let childPid: number | undefined;
  try {
    await mkdir(join(dir, 'db'));
    const conf = join(dir, 'slapd.conf');
    await writeFile(conf, slapdConf(dir, { ...options, baseDn, rootPassword, monitor: options.monitor ?? true }));
    const policy = options.ppolicy === false ? null : { ...DEFAULT_POLICY, ...options.ppolicy?.policy };
    const ldif = [...(options.baseEntries === false ? [] : [baseLdif(baseDn, servicePassword, policy)]), ...(options.ldif ?? [])];
    await writeFile(join(dir, 'data.ldif'), ldif.map((t) => t.trim() + '\n').join('\n'));
    await run(SLAPADD, ['-q', '-f', conf, '-l', join(dir, 'data.ldif')], { maxBuffer: 16 * 1024 * 1024 });

    const port = await freePort();
    const ldapsPort = options.tls ? await freePort() : undefined;
    const urls = [`ldap://127.0.0.1:${port}/`, ...(ldapsPort ? [`ldaps://127.0.0.1:${ldapsPort}/`] : [])];
    // -d 0 keeps slapd in the foreground as our child, so its exit is observable and reaped
    const child = spawn(SLAPD, ['-d', '0', '-f', conf, '-h', urls.join(' ')], { stdio: ['ignore', 'ignore', 'pipe'] });
    childPid = child.pid;
    let stderr = '';
    let exitInfo: string | null = null;
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    const exited = new Promise<void>((resolve) => child.once('exit', (code, signal) => resolve(void (exitInfo = `code ${code} signal ${signal} ${stderr.trim()}`))));
    child.unref();
    (child.stderr as unknown as { unref?: () => void }).unref?.();
    const pid = await waitUntilReady([port, ...(ldapsPort ? [ldapsPort] : [])], join(dir, 'slapd.pid'), () => exitInfo);
    running.add(pid);

    const stop = async (): Promise<void> => {
      if (running.delete(pid)) {
        killQuietly(pid, 'SIGTERM');
        const timer = setTimeout(() => killQuietly(pid, 'SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    };
    const ldapsUrl = ldapsPort ? `ldaps://127.0.0.1:${ldapsPort}` : undefined;
    return { url: `ldap://127.0.0.1:${port}`, ldapsUrl, port, ldapsPort, baseDn, rootDn: `cn=admin,${baseDn}`, rootPassword, serviceDn: `cn=service,${baseDn}`, servicePassword, dir, pid, stop };
  } catch (err) {
    if (childPid) killQuietly(childPid, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
