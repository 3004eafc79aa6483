/**
 * The machine's limits, measured in the same run as the load: what the unavoidable parts of a sign-in
 * cost here (RSA/ECDSA signatures, one TOTP check, one LDAP search+bind). IdP CPU per sign-in divided
 * by their sum is comparable across machines.
 */
import { generateKeyPairSync, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { Client } from 'ldapts';
import { verifyTotp, base32Decode, benchSecret } from './driver/totp.ts';
import { matchingTimeStep } from '../../src/mfa/totp/totp-codes.ts';
import { BASE_DN, userPassword } from './ldap.ts';
import type { SlapdHandle } from '../slapd.ts';
import { cpuMsOf } from './proc.ts';
import { round } from './stats.ts';

export interface Rate {
  /** Operations per second. */
  perSecond: number;
  /** CPU of this process per operation, µs (for LDAP: the client side only). */
  cpuUsPerOp: number;
}

export interface MachineLimits {
  rs256Sign: Rate;
  rs256Verify: Rate;
  es256Sign: Rate;
  /** Minimal RFC 6238 check with a ±1 step window (node:crypto HMAC-SHA1). */
  totpVerify: Rate;
  /** The IdP's own TOTP check (otplib, as src/mfa/totp calls it): for information, not in the ratio. */
  totpVerifyIdpLibrary: Rate;
  /** One search for the user entry plus one bind as the user, 8 in flight (ldapts). */
  ldapSearchBind: Rate & { concurrency: number; slapdCpuUsPerOp: number };
}

function cpuUs(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

async function measure(seconds: number, op: () => void | Promise<void>, batch = 50): Promise<Rate> {
  for (let i = 0; i < batch; i++) await op(); // warm-up
  const start = performance.now();
  const cpuStart = cpuUs();
  let count = 0;
  while (performance.now() - start < seconds * 1000) {
    for (let i = 0; i < batch; i++) await op();
    count += batch;
  }
  const elapsed = (performance.now() - start) / 1000;
  return { perSecond: round(count / elapsed, 0), cpuUsPerOp: round((cpuUs() - cpuStart) / count, 1) };
}

function signer(key: KeyObject, algorithm: string | null): () => void {
  const payload = randomBytes(600); // about a JWT header+payload or a SAML SignedInfo
  return () => void sign(algorithm, payload, key);
}

export async function measureSignatures(seconds: number): Promise<Pick<MachineLimits, 'rs256Sign' | 'rs256Verify' | 'es256Sign'>> {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const payload = randomBytes(600);
  const signature = sign('sha256', payload, rsa.privateKey);
  return {
    rs256Sign: await measure(seconds, signer(rsa.privateKey, 'sha256')),
    rs256Verify: await measure(seconds, () => void verify('sha256', payload, rsa.publicKey, signature)),
    es256Sign: await measure(seconds, () => void sign('sha256', payload, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' })),
  };
}

export async function measureTotp(seconds: number): Promise<Pick<MachineLimits, 'totpVerify' | 'totpVerifyIdpLibrary'>> {
  const secret = benchSecret('limits', 1);
  const key = base32Decode(secret);
  let n = 0;
  // wrong codes: the verifier tries the whole window, the worst (and for step T+1 the usual) case
  const code = () => String((n++ * 7919) % 1_000_000).padStart(6, '0');
  const parameters = { digits: 6, periodSeconds: 30, algorithm: 'sha1' } as const;
  return {
    totpVerify: await measure(seconds, () => void verifyTotp(key, code(), Date.now())),
    totpVerifyIdpLibrary: await measure(seconds, async () => void (await matchingTimeStep(secret, code(), parameters, Date.now(), 30)), 20),
  };
}

/** Search+bind against the bench slapd with `concurrency` loops, each with its own search and bind connection. */
export async function measureLdap(slapd: SlapdHandle, users: number, seconds: number, concurrency = 8): Promise<MachineLimits['ldapSearchBind']> {
  const loops = await Promise.all(
    Array.from({ length: concurrency }, async () => {
      const search = new Client({ url: slapd.url });
      const bind = new Client({ url: slapd.url });
      await search.bind(slapd.serviceDn, slapd.servicePassword);
      return { search, bind };
    }),
  );
  let next = 0;
  const once = async ({ search, bind }: (typeof loops)[number]) => {
    const n = next++ % users;
    const { searchEntries } = await search.search(`ou=people,${BASE_DN}`, { scope: 'sub', filter: `(uid=user${n})`, attributes: ['uid', 'cn', 'mail', 'entryUUID'] });
    if (searchEntries.length !== 1) throw new Error(`user${n} not found`);
    await bind.bind(searchEntries[0]!.dn, userPassword(n));
  };
  for (const loop of loops) for (let i = 0; i < 20; i++) await once(loop);
  const start = performance.now();
  const cpuStart = cpuUs();
  const slapdStart = cpuMsOf(slapd.pid);
  let count = 0;
  await Promise.all(
    loops.map(async (loop) => {
      while (performance.now() - start < seconds * 1000) {
        await once(loop);
        count++;
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  const cpu = cpuUs() - cpuStart;
  const slapdCpuMs = cpuMsOf(slapd.pid) - slapdStart;
  await Promise.all(loops.flatMap(({ search, bind }) => [search.unbind(), bind.unbind()]));
  return { perSecond: round(count / elapsed, 0), cpuUsPerOp: round(cpu / count, 1), concurrency, slapdCpuUsPerOp: round((slapdCpuMs * 1000) / count, 1) };
}

export async function measureLimits(slapd: SlapdHandle, users: number, seconds: number): Promise<MachineLimits> {
  const signatures = await measureSignatures(seconds);
  const totp = await measureTotp(seconds);
  const ldapSearchBind = await measureLdap(slapd, users, seconds);
  return { ...signatures, ...totp, ldapSearchBind };
}
