import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import { boot } from '../helpers/boot.ts';
import { createRp, createUser, rpBrowser, signIn } from '../helpers/oidc-rp.ts';

const ALICE = { username: 'alice', password: 'correct horse 1' };

test('a copy of kv.journal holds none of a real sign-in: no session cookie, access or refresh token; the server reads them back after a restart', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-at-rest-'));
  const secretKey = randomBytes(32).toString('base64');
  try {
    const app = await boot({}, { dataDir, secretKey });
    let tokens: Awaited<ReturnType<typeof signIn>>['tokens'];
    let aliceId: string;
    let sessionId: string;
    try {
      aliceId = await createUser(app, ALICE);
      const rp = await createRp(app);
      const browser = rpBrowser();
      ({ tokens } = await signIn(rp, browser, ALICE));
      sessionId = browser.cookies.get(new URL(app.url).host)!.get('sg_session')!;
      assert.ok(sessionId && tokens.access_token && tokens.refresh_token);
      const journal = await readFile(join(dataDir, 'kv.journal'), 'latin1');
      const readable = { sessionId, accessToken: tokens.access_token, refreshToken: tokens.refresh_token!, namespace: 'sso-session', username: ALICE.username };
      assert.deepEqual(Object.entries(readable).filter(([, secret]) => journal.includes(secret)).map(([name]) => name), []);
    } finally {
      await app.close();
    }

    const restarted = await boot({}, { dataDir, secretKey, port: app.port });
    try {
      const rp = await createRp(restarted);
      assert.equal((await restarted.services.sessions.byId(sessionId))?.user.id, aliceId);
      assert.equal((await oidc.fetchUserInfo(rp.config, tokens.access_token, aliceId)).sub, aliceId, 'the access token outlived the restart');
      const journal = await readFile(join(dataDir, 'kv.journal'), 'latin1');
      assert.equal(journal.includes(sessionId), false, 'nor after the compaction at start');
    } finally {
      await restarted.close();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('upgrading a plaintext journal with a wrong key stops start-up and leaves the journal as it was; the right key then starts and reads it', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-upgrade-key-'));
  const rightKey = randomBytes(32).toString('base64');
  try {
    await (await boot({}, { dataDir, secretKey: rightKey })).close();
    // A journal as an earlier version wrote it: plaintext lines.
    const value = JSON.stringify({ user: 'alice' });
    await writeFile(join(dataDir, 'kv.journal'), `S\t\t${Date.now() + 3_600_000}\t${value.length}\t"sso-session"\t"from-before-the-upgrade"\t${value}\n`);
    const before = await readFile(join(dataDir, 'kv.journal'));
    await assert.rejects(boot({}, { dataDir, secretKey: randomBytes(32).toString('base64') }), /secretKey: the key from secretKey/);
    assert.deepEqual(await readFile(join(dataDir, 'kv.journal')), before, 'not rewritten with the wrong key');
    const app = await boot({}, { dataDir, secretKey: rightKey });
    try {
      assert.deepEqual(await app.services.store.kv.get('sso-session', 'from-before-the-upgrade'), { user: 'alice' });
    } finally {
      await app.close();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
