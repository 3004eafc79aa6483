/**
 * Prepares the IdP's data directory before it starts, through Stepgate's own modules (SP registry,
 * client registry, TOTP enrollments, session service), so the records have exactly the shape the
 * IdP writes: one SAML SP and one OIDC client that both require MFA, a TOTP secret for every bench
 * user, and N live SSO sessions (password + TOTP, signed in to the SAML SP).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Request, Response } from 'express';
import type { Config } from '../../src/config/schema.ts';
import type { Collection, CollectionOptions, CollectionWrite, Store } from '../../src/store/store.ts';
import type { User } from '../../src/core/types.ts';
import { systemClock } from '../../src/core/clock.ts';
import { SecretBox } from '../../src/core/secret-box.ts';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import { journalSealer } from '../../src/store/journal-sealer.ts';
import { SessionService } from '../../src/session/session-service.ts';
import { CookieJar } from '../../src/http/cookies.ts';
import { createDirectory } from '../../src/build-services.ts';
import { createLogger } from '../../src/core/log.ts';
import { buildMfa } from '../../src/mfa/build-mfa.ts';
import { createSpRegistry } from '../../src/saml/sp-registry.ts';
import { clientRegistry } from '../../src/oidc/client-registry.ts';
import { benchSecret } from './driver/totp.ts';
import { userId } from './ldap.ts';
import type { SeededSession } from './driver/protocol.ts';
import type { IdTokenAlg } from './options.ts';

/** The policy both bench relying parties name: built in, password + second factor for everyone. */
export const BENCH_POLICY = 'permit-everyone-require-mfa';
export const SP_ENTITY_ID = 'https://sp.bench.example/metadata';
export const SP_ACS_URL = 'https://sp.bench.example/saml/acs';
/** Never contacted: the driver stops at the redirect and reads the code from it. */
export const CLIENT_REDIRECT_URI = 'http://127.0.0.1:9/bench/callback';

export interface SeedOptions {
  config: Config;
  secretKey: string;
  users: number;
  sessions: number;
  totpSeed: string;
  /** Where the SP's key and certificate go. */
  workDir: string;
  /** Directory profiles from an earlier seed of the same directory (the lookups are the slow part). */
  profiles?: User[];
  idTokenAlg: IdTokenAlg;
}

export interface SeedResult {
  sessions: SeededSession[];
  client: { id: string; secret: string; idTokenAlg: IdTokenAlg };
  sp: { entityId: string; acsUrl: string; privateKeyPem: string; signatures: number; signedRequests: boolean };
  profiles: User[];
  timings: Record<string, number>;
}

/** The bench SP's key pair, as a SAML SP would make it (openssl, outside Stepgate). */
function spKeyPair(dir: string): { keyPem: string; certBody: string } {
  const key = join(dir, 'sp.key');
  const cert = join(dir, 'sp.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '30', '-subj', '/CN=sp.bench.example'], { stdio: 'ignore' });
  const pem = readFileSync(cert, 'utf8');
  return { keyPem: readFileSync(key, 'utf8'), certBody: pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '') };
}

/** Metadata like node-saml generates: signed AuthnRequests, signed assertions, POST ACS. */
function spMetadata(certBody: string): string {
  return `<?xml version="1.0"?>
<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${SP_ENTITY_ID}">
  <SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" AuthnRequestsSigned="true" WantAssertionsSigned="true">
    <KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${certBody}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></KeyDescriptor>
    <NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</NameIDFormat>
    <AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${SP_ACS_URL}" index="0" isDefault="true"/>
  </SPSSODescriptor>
</EntityDescriptor>
`;
}

/**
 * A store whose collections only collect: admin collections rewrite their whole file on each put,
 * fine for an admin adding one record, far too slow for 10,000 enrollments. The records are made by
 * the real module and then written in one go.
 */
function collecting(store: Store): { store: Store; collected: Map<string, Map<string, { id: string }>> } {
  const collected = new Map<string, Map<string, { id: string }>>();
  const collection = <T extends { id: string }>(name: string, options: CollectionOptions<T> = {}): Collection<T> => {
    const records = (collected.get(name) ?? collected.set(name, new Map()).get(name)!) as unknown as Map<string, T>;
    return {
      get: async (id) => records.get(id),
      lookup: async (key) => [...records.values()].find((record) => options.lookupKeys?.(record).includes(key)),
      list: async () => [...records.values()],
      put: async (item) => void records.set(item.id, item),
      update: async (id, change) => records.has(id) && !!records.set(id, change(records.get(id)!)),
      remove: async (id) => records.delete(id),
    };
  };
  const putAll = async (writes: readonly CollectionWrite[]) => {
    for (const { collection: name, item } of writes) await collection(name).put(item);
  };
  return { store: { collection, putAll, kv: store.kv, audit: store.audit, startupCheck: () => store.startupCheck(), reopenLogs: () => store.reopenLogs(), close: () => store.close() }, collected };
}

async function inBatches<T>(count: number, size: number, run: (index: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let start = 0; start < count; start += size) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(size, count - start) }, (_, offset) => run(start + offset)))));
  }
  return out;
}

/** Directory profiles of the users the sessions belong to, read the way the IdP reads them. */
async function directoryUsers(config: Config, store: Store, count: number): Promise<User[]> {
  const directory = await createDirectory(config, store, createLogger('error'), systemClock);
  try {
    return await inBatches(count, 16, async (n) => {
      const user = await directory.findUser(`user${n}`);
      if (!user) throw new Error(`user${n} is not in the directory`);
      return user;
    });
  } finally {
    await directory.close();
  }
}

function fakeExchange(): { req: Request; res: Response; cookie: () => string | undefined } {
  let last: string | undefined;
  const res = { append: (_name: string, value: string) => void (last = value), locals: {} } as unknown as Response;
  return { req: { headers: {} } as Request, res, cookie: () => last };
}

export async function seed(options: SeedOptions): Promise<SeedResult> {
  const { config } = options;
  const timings: Record<string, number> = {};
  const timed = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    const result = await run();
    timings[name] = Math.round(performance.now() - start);
    return result;
  };
  const clock = systemClock;
  const box = new SecretBox(Buffer.from(options.secretKey, 'base64'));
  // Like the admin CLI: append to the journal, leave compaction (and its bookkeeping) to the server.
  const store = await new LowdbStore(config.dataDir, clock, { sealer: journalSealer(box), owner: false }).open();
  try {
    const { keyPem, certBody } = spKeyPair(options.workDir);
    const { record: sp } = await createSpRegistry(store, clock).add(spMetadata(certBody), { name: 'Bench SP', policy: BENCH_POLICY });
    const added = await clientRegistry(store, box, clock).add({ name: 'Bench app', redirectUris: [CLIENT_REDIRECT_URI], scopes: ['openid', 'profile', 'email'], refreshTokens: true, policy: BENCH_POLICY, idTokenAlg: options.idTokenAlg });
    if (!added.ok || !added.secret) throw new Error(`client registration refused: ${added.ok ? 'no secret' : added.problems.join('; ')}`);

    const { store: collectingStore, collected } = collecting(store);
    const { enrollments } = buildMfa(config, collectingStore, box, clock);
    const { digits, periodSeconds, algorithm } = config.mfa.totp;
    await timed('enrollments', async () => {
      const now = clock.now();
      for (let n = 0; n < options.users; n++) {
        await enrollments.put(userId(n), `user${n}`, benchSecret(options.totpSeed, n), { digits, periodSeconds, algorithm }, now);
      }
    });

    const needed = Math.min(options.users, options.sessions);
    const profiles = options.profiles && options.profiles.length >= needed ? options.profiles : await timed('directoryLookups', () => directoryUsers(config, store, needed));
    const service = new SessionService(store.kv, config.session, clock, new CookieJar(config.server.publicUrl));
    const cookieName = config.session.cookieName;
    const sessions = await timed('sessions', () =>
      inBatches(options.sessions, 500, async (index) => {
        const user = index % needed;
        const exchange = fakeExchange();
        const now = clock.now();
        const { session } = await service.start(exchange.req, exchange.res, profiles[user]!, [
          { method: 'pwd', at: now },
          { method: 'otp', at: now },
        ]);
        await service.addParticipant(session, { protocol: 'saml', rpId: SP_ENTITY_ID, at: now });
        const cookie = exchange.cookie() ?? '';
        if (!cookie.startsWith(`${cookieName}=${session.id};`)) throw new Error(`unexpected session cookie ${cookie}`);
        return { id: session.id, user };
      }),
    );
    // One atomic write of the admin-record file, as a configuration import does.
    await timed('bulkWrite', () => store.putAll([...collected].flatMap(([collection, records]) => [...records.values()].map((item) => ({ collection, item })))));
    await store.close();
    const signatures = Number(sp.settings.wantAssertionsSigned) + Number(sp.settings.wantResponseSigned);
    return {
      sessions,
      client: { id: added.client.id, secret: added.secret, idTokenAlg: options.idTokenAlg },
      sp: { entityId: sp.id, acsUrl: SP_ACS_URL, privateKeyPem: keyPem, signatures, signedRequests: sp.settings.requireSignedRequests },
      profiles,
      timings,
    };
  } catch (error) {
    await store.close().catch(() => undefined);
    throw error;
  }
}
