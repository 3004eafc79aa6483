import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile, writeFile, appendFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { JournalKeyMismatch, JournalKeyValue } from '../../src/store/journal-kv.ts';
import { SecretBox } from '../../src/core/secret-box.ts';
import { SECRET_PURPOSE as TOTP_SECRET_PURPOSE } from '../../src/mfa/totp/totp-enrollments.ts';
import { testSealer } from '../helpers/journal-sealer.ts';

const clock = { now: () => Date.now() };

async function withJournal<T>(run: (path: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-sealed-'));
  try {
    return await run(join(dir, 'kv.journal'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** What a copy of the data directory would hand over: a session cookie, an access token, and the values behind them. */
function credentials() {
  const sessionId = randomBytes(32).toString('base64url');
  const tokenId = randomBytes(32).toString('base64url');
  return {
    sessionId,
    tokenId,
    session: { id: sessionId, user: { id: 'u-7f3a', username: 'alice.sealed', email: 'alice.sealed@example.org' }, factors: [{ method: 'otp', at: 1 }] },
    token: { jti: tokenId, accountId: 'u-7f3a', clientId: 'payroll-app', scope: 'openid email' },
  };
}

/** Every string of `secrets` the raw journal file shows. */
async function readable(path: string, secrets: string[]): Promise<string[]> {
  const raw = await readFile(path, 'latin1');
  return secrets.filter((secret) => raw.includes(secret));
}

const secretsOf = (c: ReturnType<typeof credentials>) => [c.sessionId, c.tokenId, 'sso-session', 'oidc:AccessToken', 'alice.sealed', 'payroll-app', 'openid email'];

describe('a journal sealed with the secret key', () => {
  test('holds no namespace, key or value in clear, after appends and after a compaction; the same key reads them back', () =>
    withJournal(async (path) => {
      const sealer = testSealer();
      const c = credentials();
      const kv = new JournalKeyValue(path, clock, { sealer });
      await kv.open();
      await kv.set('sso-session', c.sessionId, c.session, { ttlSeconds: 3600 });
      await kv.set('oidc:AccessToken', c.tokenId, c.token, { ttlSeconds: 600 });
      await kv.close();
      assert.deepEqual(await readable(path, secretsOf(c)), [], 'appended lines');

      const reopened = new JournalKeyValue(path, clock, { sealer }); // the owner's open rewrites the journal
      await reopened.open();
      assert.deepEqual(await reopened.get('sso-session', c.sessionId), c.session);
      assert.deepEqual(await reopened.get('oidc:AccessToken', c.tokenId), c.token);
      await reopened.delete('oidc:AccessToken', c.tokenId);
      await reopened.close();
      assert.deepEqual(await readable(path, secretsOf(c)), [], 'the compacted journal and a delete line');

      const third = new JournalKeyValue(path, clock, { sealer });
      await third.open();
      assert.deepEqual(await third.get('sso-session', c.sessionId), c.session);
      assert.equal(await third.get('oidc:AccessToken', c.tokenId), undefined);
      assert.equal(third.rejectedLines, 0);
      await third.close();
    }));

  test('another key opens none of it: open refuses with a named error and leaves the journal as it was', () =>
    withJournal(async (path) => {
      const c = credentials();
      const kv = new JournalKeyValue(path, clock, { sealer: testSealer() });
      await kv.open();
      await kv.set('sso-session', c.sessionId, c.session);
      await kv.close();
      const before = await readFile(path);
      for (const owner of [true, false]) {
        const other = new JournalKeyValue(path, clock, { sealer: testSealer(), owner });
        await assert.rejects(other.open(), (error: Error) => error instanceof JournalKeyMismatch && error.message === `${path} does not open with the configured secret key`);
        await other.close();
      }
      assert.deepEqual(await readFile(path), before, 'not compacted away: the right key still reads every entry');
      assert.equal(existsSync(`${path}.rejected`), false);
    }));

  test('lines sealed with another key among lines of this key are rejected, counted and kept, never read', () =>
    withJournal(async (path) => {
      const sealer = testSealer();
      const ours = new JournalKeyValue(path, clock, { sealer });
      await ours.open();
      await ours.set('sso-session', 'kept', { user: 'alice' });
      await ours.close();
      const foreign = new JournalKeyValue(`${path}.foreign`, clock, { sealer: testSealer() });
      await foreign.open();
      await foreign.set('sso-session', 'planted', { user: 'mallory' });
      await foreign.close();
      const planted = (await readFile(`${path}.foreign`, 'utf8')).trim();
      await appendFile(path, `${planted}\n`);

      const reopened = new JournalKeyValue(path, clock, { sealer });
      await reopened.open();
      assert.equal(reopened.rejectedLines, 1);
      assert.deepEqual(await reopened.get('sso-session', 'kept'), { user: 'alice' });
      assert.equal(await reopened.get('sso-session', 'planted'), undefined);
      assert.deepEqual((await readFile(reopened.rejectedPath, 'utf8')).split('\n').filter(Boolean), [planted]);
      await reopened.close();
    }));

  test('a TOTP secret sealed with the same key is not taken for a journal line, nor a journal line for a TOTP secret', () =>
    withJournal(async (path) => {
      const key = randomBytes(32);
      const sealer = testSealer(key);
      const kv = new JournalKeyValue(path, clock, { sealer });
      await kv.open();
      await kv.set('sso-session', 'kept', { user: 'alice' });
      await kv.close();
      // A plaintext that parses as a set line, sealed for another purpose: only the purpose tells them apart.
      const line = `S\t\t\t17\t"sso-session"\t"forged"\t{"user":"admin"}`;
      await appendFile(path, `E\t\t${new SecretBox(key).seal(line, TOTP_SECRET_PURPOSE)}\n`);
      const reopened = new JournalKeyValue(path, clock, { sealer });
      await reopened.open();
      assert.equal(reopened.rejectedLines, 1);
      assert.equal(await reopened.get('sso-session', 'forged'), undefined);
      await reopened.close();
      const journalLine = (await readFile(path, 'utf8')).split('\n')[0]!;
      assert.throws(() => new SecretBox(key).openText(journalLine.split('\t')[2]!, TOTP_SECRET_PURPOSE), /does not open with this key/);
    }));
});

describe('a journal of an earlier version (plaintext lines)', () => {
  test('is read, and the owner open rewrites it sealed: no plaintext is left', () =>
    withJournal(async (path) => {
      const c = credentials();
      const session = JSON.stringify(c.session);
      const token = JSON.stringify(c.token);
      const expires = Date.now() + 3_600_000;
      await writeFile(
        path,
        [
          JSON.stringify({ o: 's', n: 'sso-session', k: 'first-format', v: JSON.stringify({ user: 'alice.sealed' }) }),
          `S\told\t${expires}\t${session.length}\t"sso-session"\t${JSON.stringify(c.sessionId)}\t${session}`,
          `S\told\t\t${token.length}\t"oidc:AccessToken"\t${JSON.stringify(c.tokenId)}\t${token}`,
          `S\told\t\t2\t"oidc:AccessToken"\t"revoked"\t{}`,
          `D\told\t\t\t"oidc:AccessToken"\t"revoked"`,
          '',
        ].join('\n'),
      );
      const sealer = testSealer();
      const kv = new JournalKeyValue(path, clock, { sealer });
      await kv.open();
      assert.deepEqual(await kv.get('sso-session', c.sessionId), c.session);
      assert.deepEqual(await kv.get('oidc:AccessToken', c.tokenId), c.token);
      assert.deepEqual(await kv.get('sso-session', 'first-format'), { user: 'alice.sealed' });
      assert.equal(await kv.get('oidc:AccessToken', 'revoked'), undefined);
      assert.equal(kv.rejectedLines, 0);
      await kv.set('sso-session', 'after-upgrade', { user: 'bob' });
      await kv.close();

      assert.deepEqual(await readable(path, [...secretsOf(c), 'first-format', 'after-upgrade', 'revoked']), []);
      assert.ok((await readFile(path, 'utf8')).split('\n').filter(Boolean).every((line) => line.startsWith('E\t')), 'every line is sealed');
      const reopened = new JournalKeyValue(path, clock, { sealer });
      await reopened.open();
      assert.deepEqual(await reopened.get('sso-session', c.sessionId), c.session);
      assert.deepEqual(await reopened.get('sso-session', 'after-upgrade'), { user: 'bob' });
      await reopened.close();
    }));
});

describe('plaintext lines in a sealed journal (written by hand, without the key)', () => {
  const forged = (key: string) => {
    const json = JSON.stringify({ id: key, user: { id: 'u-7f3a', username: 'alice.sealed' }, factors: [{ method: 'pwd' }, { method: 'otp' }] });
    return `S\t\t${Date.now() + 3_600_000}\t${json.length}\t"sso-session"\t${JSON.stringify(key)}\t${json}\n`;
  };

  test('are refused at start, counted and kept aside, never read', () =>
    withJournal(async (path) => {
      const sealer = testSealer();
      const kv = new JournalKeyValue(path, clock, { sealer });
      await kv.open();
      await kv.set('sso-session', 'real', { user: 'alice' }, { ttlSeconds: 3600 });
      await kv.close();
      await appendFile(path, forged('FORGED-SESSION-ID'));
      const reopened = new JournalKeyValue(path, clock, { sealer });
      await reopened.open();
      assert.equal(await reopened.get('sso-session', 'FORGED-SESSION-ID'), undefined);
      assert.deepEqual(await reopened.get('sso-session', 'real'), { user: 'alice' });
      assert.equal(reopened.plaintextLinesRefused, 1);
      assert.ok(existsSync(reopened.rejectedPath));
      await reopened.close();
      assert.equal((await readFile(path, 'latin1')).includes('FORGED-SESSION-ID'), false, 'not laundered into the sealed journal by the compaction');
    }));

  test('are ignored when appended while the server runs, with an error in the log', () =>
    withJournal(async (path) => {
      const sealer = testSealer();
      const errors: unknown[] = [];
      const logger = { error: (fields: unknown) => void errors.push(fields) } as unknown as import('../../src/core/log.ts').Logger;
      const server = new JournalKeyValue(path, clock, { sealer, logger });
      await server.open();
      await appendFile(path, forged('FORGED-WHILE-RUNNING'));
      await new Promise((resolve) => setTimeout(resolve, 1_200)); // the server reads other processes' lines every 500 ms
      assert.equal(await server.get('sso-session', 'FORGED-WHILE-RUNNING'), undefined);
      assert.equal(server.plaintextLinesRefused, 1);
      assert.ok(errors.some((fields) => (fields as { event?: string }).event === 'store.journal.plaintext-refused'));
      await server.close();
    }));
});
