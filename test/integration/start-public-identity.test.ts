import { freePort } from '../../scripts/free-port.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startUntilBanner } from '../helpers/node-process.ts';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { parseConfig } from '../../src/config/load.ts';
import { recordPublicIdentity } from '../../src/config/public-identity.ts';
import { createLogger } from '../../src/core/log.ts';
import { SecretBox } from '../../src/core/secret-box.ts';
import { systemClock } from '../../src/core/clock.ts';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import { journalSealer } from '../../src/store/journal-sealer.ts';

const { STEPGATE_SECRET_KEY: _key, STEPGATE_SECRET_KEY_FILE: _keyFile, PUBLIC_URL: _publicUrl, ...INHERITED } = process.env;

/** Starts the server as `npm start` does, until its banner, then stops it; returns its log lines. */
async function startAndStop(dataDir: string, port: number): Promise<Array<Record<string, unknown>>> {
  const output = await startUntilBanner({ ...INHERITED, STEPGATE_DATA_DIR: dataDir, PORT: String(port) });
  return output.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
}

const changed = (logs: Array<Record<string, unknown>>) => logs.filter((line) => line.event === 'config.public-identity-changed');

test('a start on another port (the default public URL follows it) warns with the old and new public URL and entityID and what breaks; then records the new ones', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-identity-'));
  try {
    const [before, after] = [await freePort(), await freePort()];
    assert.deepEqual(changed(await startAndStop(dataDir, before)), [], 'nothing to compare with at the first start');
    const stored = JSON.parse(await readFile(join(dataDir, 'db.json'), 'utf8')).collections.installation['public-identity'];
    assert.equal(stored.publicUrl, `http://localhost:${before}`);
    assert.equal(stored.samlEntityId, `http://localhost:${before}/saml/metadata`);

    const warnings = changed(await startAndStop(dataDir, after));
    assert.equal(warnings.length, 1);
    const [warning] = warnings;
    assert.equal(warning!.level, 40, 'warn');
    assert.deepEqual(warning!.previous, { publicUrl: `http://localhost:${before}`, samlEntityId: `http://localhost:${before}/saml/metadata` });
    assert.deepEqual(warning!.current, { publicUrl: `http://localhost:${after}`, samlEntityId: `http://localhost:${after}/saml/metadata` });
    const msg = String(warning!.msg);
    assert.match(msg, new RegExp(`public URL changed from http://localhost:${before} to http://localhost:${after}`));
    assert.match(msg, /OIDC clients' refresh tokens and sessions stop working/);
    assert.match(msg, /SAML service providers refuse this IdP's assertions until they re-import its metadata/);

    assert.deepEqual(changed(await startAndStop(dataDir, after)), [], 'the new values were recorded: no warning at the next start');
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('only the entityID changed: the warning names it alone; only the public URL changed (entityID configured): SPs must re-import the metadata', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-identity-'));
  const logs: Array<Record<string, unknown>> = [];
  const logger = createLogger('warn', new Writable({ write: (chunk, _encoding, done) => (logs.push(JSON.parse(chunk.toString())), done()) }));
  const store = await new LowdbStore(dataDir, systemClock, { sealer: journalSealer(new SecretBox(randomBytes(32))) }).open();
  try {
    const at = (publicUrl: string, entityId?: string) => parseConfig({ dataDir, server: { publicUrl }, saml: entityId ? { entityId } : {} });
    await recordPublicIdentity(store, at('https://idp.example.org'), logger, systemClock);
    await recordPublicIdentity(store, at('https://idp.example.org', 'urn:example:idp'), logger, systemClock);
    await recordPublicIdentity(store, at('https://sso.example.org', 'urn:example:idp'), logger, systemClock);
    assert.equal(logs.length, 2);
    assert.deepEqual(logs[0]!.current, { publicUrl: 'https://idp.example.org', samlEntityId: 'urn:example:idp' });
    assert.doesNotMatch(String(logs[0]!.msg), /public URL changed/);
    assert.match(String(logs[0]!.msg), /the SAML entityID changed from https:\/\/idp\.example\.org\/saml\/metadata to urn:example:idp/);
    assert.match(String(logs[1]!.msg), /public URL changed from https:\/\/idp\.example\.org to https:\/\/sso\.example\.org/);
    assert.match(String(logs[1]!.msg), /SAML service providers must re-import the metadata \(https:\/\/sso\.example\.org\/saml\/metadata\)/);
  } finally {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
