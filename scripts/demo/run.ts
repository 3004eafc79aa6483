import { spawn } from 'node:child_process';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomInt } from 'node:crypto';
import { parseConfig } from '../../src/config/load.ts';
import { loadSecretKey } from '../../src/config/secret-key.ts';
import { SecretBox } from '../../src/core/secret-box.ts';
import { systemClock } from '../../src/core/clock.ts';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import { journalSealer } from '../../src/store/journal-sealer.ts';
import { LocalUserAdmin } from '../../src/directory/local-user-admin.ts';
import { clientRegistry } from '../../src/oidc/client-registry.ts';
import { createSpRegistry } from '../../src/saml/sp-registry.ts';
import { demoSamlSp } from './saml-sp-app.ts';
import { demoOidcRp } from './oidc-rp-app.ts';

/**
 * `npm run demo`: Stepgate on its own demo data directory (wiped each run, so demo users and apps never
 * reach a real one), a demo user, a sample SAML SP and a sample OIDC client, each on localhost.
 */
const idpPort = Number(process.env.DEMO_IDP_PORT ?? 8080);
const spPort = Number(process.env.DEMO_SP_PORT ?? 8081);
const rpPort = Number(process.env.DEMO_RP_PORT ?? 8082);
const dataDir = resolve(process.env.DEMO_DATA_DIR ?? 'data/demo');
const idpUrl = `http://localhost:${idpPort}`;
const spUrl = `http://localhost:${spPort}`;
const rpUrl = `http://localhost:${rpPort}`;
const run = promisify(execFile);

async function openStore(box: SecretBox) {
  return new LowdbStore(dataDir, systemClock, { sealer: journalSealer(box), owner: false }).open();
}

function demoPassword(): string {
  const words = ['amber', 'canyon', 'falcon', 'harbor', 'meadow', 'orbit', 'quartz', 'summit', 'tundra', 'velvet'];
  return `${words[randomInt(words.length)]}-${words[randomInt(words.length)]}-${randomInt(1000, 9999)}`;
}

async function seed(): Promise<{ box: SecretBox; password: string; clientId: string; clientSecret: string }> {
  await rm(dataDir, { recursive: true, force: true });
  const config = parseConfig({ dataDir, server: { port: idpPort } });
  const box = new SecretBox(loadSecretKey(config, { dataIsFresh: true }).key);
  const store = await openStore(box);
  try {
    const users = new LocalUserAdmin(store, config, systemClock);
    const password = demoPassword();
    await users.add('demo', { name: 'Demo User', email: 'demo@example.org', addGroups: ['staff', 'demo'] });
    const problem = await users.setPassword('demo', password);
    if (problem) throw new Error(problem);
    const added = await clientRegistry(store, box, systemClock).add({ name: 'Demo OIDC app', redirectUris: [`${rpUrl}/callback`] });
    if (!added.ok || !added.secret) throw new Error(`demo client refused: ${added.ok ? 'no secret' : added.problems.join('; ')}`);
    return { box, password, clientId: added.client.id, clientSecret: added.secret };
  } finally {
    await store.close();
  }
}

async function startIdp(): Promise<ReturnType<typeof spawn>> {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', 'src/main.ts'], { env: { ...process.env, STEPGATE_DATA_DIR: dataDir, PORT: String(idpPort), PUBLIC_URL: idpUrl, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' }, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolveStart, reject) => {
    let banner = '';
    child.stdout!.on('data', (chunk) => {
      process.stdout.write(chunk);
      banner += chunk.toString();
      if (banner.includes('OIDC discovery')) resolveStart();
    });
    child.once('exit', (code) => reject(new Error(`Stepgate exited with ${code}`)));
  });
  return child;
}

async function spKeys(): Promise<{ keyPem: string; certPem: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-demo-sp-'));
  try {
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'sp.key'), '-out', join(dir, 'sp.pem'), '-days', '365', '-subj', '/CN=demo-sp.localhost']);
    return { keyPem: await readFile(join(dir, 'sp.key'), 'utf8'), certPem: await readFile(join(dir, 'sp.pem'), 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function idpCertificates(): Promise<string[]> {
  const xml = await (await fetch(`${idpUrl}/saml/metadata`)).text();
  return [...new Set([...xml.matchAll(/<(?:ds:)?X509Certificate>([^<]+)</g)].map((match) => match[1]!.replace(/\s+/g, '')))];
}

const { box, password, clientId, clientSecret } = await seed();
const idp = await startIdp();
const sp = demoSamlSp({ idpUrl, spUrl, keys: await spKeys(), idpCertificates: await idpCertificates() });
const store = await openStore(box);
await createSpRegistry(store, systemClock).add(sp.metadataXml, { name: 'Demo SAML app' });
await store.close();
const rp = await demoOidcRp({ issuer: idpUrl, rpUrl, clientId, clientSecret });
const servers = await Promise.all([sp.start(spPort), rp.start(rpPort)]).catch((error: Error) => {
  process.stderr.write(`Demo: ${error.message}. Stop what uses that port, or choose other ports with DEMO_IDP_PORT, DEMO_SP_PORT and DEMO_RP_PORT.\n`);
  idp.once('exit', () => process.exit(1));
  idp.kill('SIGTERM');
  return new Promise<never>(() => {});
});

process.stdout.write(`
Demo ready (data in ${dataDir}, wiped at the next demo run):
  SAML sample app:  ${spUrl}
  OIDC sample app:  ${rpUrl}
  Demo user:        demo
  Demo password:    ${password}
Press Ctrl+C to stop.
`);

const stop = () => {
  for (const server of servers) server.close();
  idp.kill('SIGTERM');
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
idp.once('exit', () => process.exit(0));
