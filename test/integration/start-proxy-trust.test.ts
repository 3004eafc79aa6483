import { freePort } from '../../scripts/free-port.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startUntilBanner } from '../helpers/node-process.ts';
import { withTempDir } from '../helpers/temp-dir.ts';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const { STEPGATE_SECRET_KEY: _key, STEPGATE_SECRET_KEY_FILE: _keyFile, PUBLIC_URL: _publicUrl, STEPGATE_CONFIG: _config, ...INHERITED } = process.env;

/** The server's warnings at a start with this configuration file. */
async function startWarnings(dir: string, server: Record<string, unknown>): Promise<Array<Record<string, unknown>>> {
  const config = join(dir, 'stepgate.config.json');
  await writeFile(config, JSON.stringify({ server: { port: await freePort(), ...server } }));
  const output = await startUntilBanner({ ...INHERITED, STEPGATE_DATA_DIR: join(dir, 'data'), STEPGATE_CONFIG: config });
  return output.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
}

const untrusted = (logs: Array<Record<string, unknown>>) => logs.filter((line) => line.event === 'config.proxy-untrusted');

/**
 * README "Behind a reverse proxy": Stepgate serves plain http, so an https public URL means a TLS
 * proxy in front. Without server.trustedProxies every client had the proxy's address, with no word at
 * start: 50 wrong passwords from one client (through the proxy) locked every user out for 15 minutes.
 */
test('an https public URL without trustedProxies is warned of at start, naming the key; with the proxy trusted, or on http, nothing', async () => {
  await withTempDir('stepgate-proxy-trust-', async (dir) => {
    const warnings = untrusted(await startWarnings(dir, { publicUrl: 'https://sso.example.org' }));
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.level, 40, 'warn');
    assert.equal(warnings[0]!.publicUrl, 'https://sso.example.org');
    assert.match(String(warnings[0]!.msg), /server\.trustedProxies is empty/);
    assert.match(String(warnings[0]!.msg), /50 wrong passwords from anyone lock every user out/);

    assert.deepEqual(untrusted(await startWarnings(dir, { publicUrl: 'https://sso.example.org', trustedProxies: ['127.0.0.1/32'] })), []);
    assert.deepEqual(untrusted(await startWarnings(dir, { publicUrl: 'http://localhost:8080' })), []);
  });
});

const plainHttp = (logs: Array<Record<string, unknown>>) => logs.filter((line) => line.event === 'config.public-url-plain-http');

// A plain-http public URL on a real host name sent passwords and session cookies (not Secure) over
// the network in clear, without a word at start.
test('a plain-http public URL on a host name other than this machine is warned of at start; localhost and loopback addresses are not', async () => {
  await withTempDir('stepgate-plain-http-', async (dir) => {
    const warnings = plainHttp(await startWarnings(dir, { publicUrl: 'http://sso.example.org' }));
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.level, 40, 'warn');
    assert.match(String(warnings[0]!.msg), /plain http on sso\.example\.org: passwords, codes and session cookies cross the network unencrypted/);
    for (const publicUrl of ['http://localhost:8080', 'http://127.0.0.1:8080', 'http://[::1]:8080', 'http://idp.localhost', 'https://sso.example.org']) {
      assert.deepEqual(plainHttp(await startWarnings(dir, { publicUrl, trustedProxies: ['127.0.0.1/32'] })), [], publicUrl);
    }
  });
});
