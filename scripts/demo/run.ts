import { spawn, execFile, type ChildProcess } from 'node:child_process';
import type { Server } from 'node:http';
import { promisify } from 'node:util';
import { rmSync } from 'node:fs';
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

/** The IdP once spawned, and the sample apps once listening: what a stop has to end. */
let idp: ChildProcess | undefined;
let servers: Server[] = [];
let stopping = false;
let stopExitCode = 0;

/**
 * Ends the demo: the sample apps close, the IdP is sent SIGTERM and this process exits once it has
 * (the IdP's 'exit' listener); with no IdP running, at once. Once only.
 */
function stop(exitCode: number): void {
  if (stopping) return;
  stopping = true;
  stopExitCode = exitCode;
  for (const server of servers) server.close();
  if (idp && idp.exitCode === null && idp.signalCode === null) idp.kill('SIGTERM');
  else process.exit(exitCode);
}

// Before anything starts: a stop during start-up (Ctrl+C, or SIGTERM to npm's pid, which npm passes
// on) found no handler, ended this process at once and left the IdP running with no one to stop it.
process.once('SIGINT', () => stop(0));
process.once('SIGTERM', () => stop(0));

async function startIdp(): Promise<void> {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', 'src/main.ts'], { env: { ...process.env, STEPGATE_DATA_DIR: dataDir, PORT: String(idpPort), PUBLIC_URL: idpUrl, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' }, stdio: ['ignore', 'pipe', 'inherit'] });
  idp = child;
  // The demo ends with its IdP, whenever that exits: stopped (above), or on its own (its message is above).
  child.once('exit', (code, signal) => {
    if (stopping) process.exit(stopExitCode);
    process.stderr.write(`Demo: Stepgate exited (${code ?? signal}); the demo stops with it.\n`);
    process.exit(code || 1);
  });
  await new Promise<void>((resolveStart) => {
    let banner = '';
    child.stdout!.on('data', (chunk) => {
      process.stdout.write(chunk);
      banner += chunk.toString();
      if (banner.includes('OIDC discovery')) resolveStart();
    });
  });
}

async function spKeys(): Promise<{ keyPem: string; certPem: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-demo-sp-'));
  // A stop during start-up exits the process while openssl runs, before the finally below.
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  process.once('exit', removeDir);
  try {
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'sp.key'), '-out', join(dir, 'sp.pem'), '-days', '365', '-subj', '/CN=demo-sp.localhost']);
    return { keyPem: await readFile(join(dir, 'sp.key'), 'utf8'), certPem: await readFile(join(dir, 'sp.pem'), 'utf8') };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && (error as NodeJS.ErrnoException).path === 'openssl') throw new Error("openssl, which makes the SAML sample app's key and certificate, was not found on PATH: install it (Debian: apt-get install openssl) and run the demo again");
    throw error;
  } finally {
    process.off('exit', removeDir);
    await rm(dir, { recursive: true, force: true });
  }
}

async function idpCertificates(): Promise<string[]> {
  const xml = await (await fetch(`${idpUrl}/saml/metadata`)).text();
  return [...new Set([...xml.matchAll(/<(?:ds:)?X509Certificate>([^<]+)</g)].map((match) => match[1]!.replace(/\s+/g, '')))];
}

async function startDemo(): Promise<void> {
  const { box, password, clientId, clientSecret } = await seed();
  await startIdp();
  const sp = demoSamlSp({ idpUrl, spUrl, keys: await spKeys(), idpCertificates: await idpCertificates() });
  const store = await openStore(box);
  await createSpRegistry(store, systemClock).add(sp.metadataXml, { name: 'Demo SAML app' });
  await store.close();
  const rp = await demoOidcRp({ issuer: idpUrl, rpUrl, clientId, clientSecret });
  // Stopped meanwhile: the IdP is on its way out, and "Demo ready" would be untrue.
  if (stopping) return;
  servers = await Promise.all([sp.start(spPort), rp.start(rpPort)]).catch((error: Error) => {
    throw new Error(`${error.message}. Stop what uses that port, or choose other ports with DEMO_IDP_PORT, DEMO_SP_PORT and DEMO_RP_PORT.`);
  });
  process.stdout.write(`
Demo ready (data in ${dataDir}, wiped at the next demo run):
  SAML sample app:  ${spUrl}
  OIDC sample app:  ${rpUrl}
  Demo user:        demo
  Demo password:    ${password}
Press Ctrl+C to stop.
`);
}

// A start-up that failed after the IdP was started (openssl missing, a fetch from the IdP refused)
// ended this process and left the IdP running, holding its port and data directory.
startDemo().catch((error: Error) => {
  process.stderr.write(`Demo: ${error.message}\n`);
  stop(1);
});
