import { withoutSecretKey } from '../helpers/env.ts';
import { ROOT, runNodeScript as run, startUntilBanner } from '../helpers/node-process.ts';
import { freePort } from '../../scripts/free-port.ts';
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CLI = join(ROOT, 'src/cli/index.ts');
const IDP_METADATA = join(ROOT, 'scripts/gen-idp-metadata.ts');
const TRACKED_EXAMPLE = join(ROOT, 'metadata/idp/stepgate-idp.xml');

/** The tools' environment as an admin's shell has it: none of the server's PORT, PUBLIC_URL or key settings. */
const { PORT: _port, PUBLIC_URL: _publicUrl, ...SHELL } = withoutSecretKey(process.env);

const entityIdOf = async (file: string) => /entityID="([^"]+)"/.exec(await readFile(file, 'utf8'))?.[1];

describe('a server started with PUBLIC_URL; the tools given only its data directory, as the README says', () => {
  let dataDir: string;
  let tools: NodeJS.ProcessEnv;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'stepgate-tool-identity-'));
    tools = { ...SHELL, STEPGATE_DATA_DIR: dataDir };
    // Started until its banner, then stopped: it has recorded its public identity.
    await startUntilBanner({ ...tools, PORT: String(await freePort()), PUBLIC_URL: 'https://idp.example.test' });
  });
  after(() => rm(dataDir, { recursive: true, force: true }));

  test('npm run idp-metadata writes the entityID the server publishes, and says where it came from', async () => {
    const file = join(dataDir, 'idp.xml');
    const written = await run(IDP_METADATA, [file], tools);
    assert.equal(written.code, 0, written.err);
    assert.equal(await entityIdOf(file), 'https://idp.example.test/saml/metadata');
    assert.match(written.out, new RegExp(`Using public URL https://idp\\.example\\.test and SAML entityID https://idp\\.example\\.test/saml/metadata, as recorded at the server's last start on ${dataDir}`));
    assert.equal(written.err, '', 'nothing to warn about');
  });

  test("admin bootstrap-secret links to the server's public URL", async () => {
    const issued = await run(CLI, ['admin', 'bootstrap-secret'], tools);
    assert.equal(issued.code, 0, issued.err);
    assert.match(issued.out, /^Create the first administrator at https:\/\/idp\.example\.test\/admin\/bootstrap$/m);
    assert.match(issued.err, /Using public URL https:\/\/idp\.example\.test and SAML entityID .*, as recorded at the server's last start/);
  });

  test('a public URL given to the tool wins, with a warning naming both', async () => {
    const file = join(dataDir, 'other.xml');
    const written = await run(IDP_METADATA, [file], { ...tools, PUBLIC_URL: 'https://sso.example.test' });
    assert.equal(written.code, 0, written.err);
    assert.equal(await entityIdOf(file), 'https://sso.example.test/saml/metadata');
    assert.match(written.out, /Using public URL https:\/\/sso\.example\.test \(from server\.publicUrl \/ PUBLIC_URL\) and SAML entityID https:\/\/sso\.example\.test\/saml\/metadata \(following the public URL\)/);
    assert.match(written.err, /^Warning: this configuration differs from the server's last start on .*: public URL https:\/\/sso\.example\.test here, https:\/\/idp\.example\.test there; SAML entityID https:\/\/sso\.example\.test\/saml\/metadata here, https:\/\/idp\.example\.test\/saml\/metadata there\./);

    const issued = await run(CLI, ['admin', 'bootstrap-secret'], { ...tools, PUBLIC_URL: 'https://sso.example.test' });
    assert.equal(issued.code, 0, issued.err);
    assert.match(issued.out, /at https:\/\/sso\.example\.test\/admin\/bootstrap$/m);
    assert.match(issued.err, /^Warning: this configuration differs/m);
  });
});

test('before any server start, the tools use the configuration and say so', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-tool-identity-'));
  try {
    const file = join(dataDir, 'idp.xml');
    const written = await run(IDP_METADATA, [file], { ...SHELL, STEPGATE_DATA_DIR: dataDir, PORT: '8443' });
    assert.equal(written.code, 0, written.err);
    assert.equal(await entityIdOf(file), 'http://localhost:8443/saml/metadata');
    assert.match(written.out, new RegExp(`Using public URL http://localhost:8443 \\(the default for port 8443\\) and SAML entityID http://localhost:8443/saml/metadata; no server has started on ${dataDir} yet\\.`));
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('npm run idp-metadata without a file name is a usage error and leaves the tracked example alone', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-tool-identity-'));
  try {
    const example = await readFile(TRACKED_EXAMPLE, 'utf8');
    const refused = await run(IDP_METADATA, [], { ...SHELL, STEPGATE_DATA_DIR: dataDir });
    assert.equal(refused.code, 2);
    assert.match(refused.err, /^Usage: npm run idp-metadata -- <output file>/);
    assert.equal(await readFile(TRACKED_EXAMPLE, 'utf8'), example);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
