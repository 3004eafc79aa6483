import { test, describe, mock } from 'node:test';
import assert from 'node:assert/strict';
import { chown, rm, readFile, writeFile, utimes, access, stat } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { JournalKeyValue } from '../../src/store/journal-kv.ts';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import { AppendFile } from '../../src/store/append-file.ts';
import { FileLock } from '../../src/store/file-lock.ts';
import { testSealer } from '../helpers/journal-sealer.ts';
import { openServerAndCli } from '../helpers/journal-pair.ts';
import { withTempDir } from '../helpers/temp-dir.ts';
import { killChild, waitForExit } from '../helpers/child-exit.ts';
import { findLocalUserByName, localUsers, type LocalUserRecord } from '../../src/directory/local-users.ts';

const key = randomBytes(32);
/** One key for the whole file: the stores of a test (a server and a CLI) share the installation's key. */
const sealer = testSealer(key);

/** The plaintext lines the journal's sealed lines hold, in file order. */
async function openedLines(path: string): Promise<string[]> {
  const lines = (await readFile(path, 'utf8')).split('\n').filter(Boolean);
  return lines.flatMap((line) => sealer.open(line.split('\t')[2]!).split('\n'));
}

function fakeClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

const withDir = <T>(run: (dir: string) => Promise<T>): Promise<T> => withTempDir('stepgate-kv-', run);

describe('journal key-value store', () => {
  test('a journal of several megabytes, read back in chunks: multi-byte text across chunk edges, deletes, compaction', () =>
    withDir(async (dir) => {
      const clock = fakeClock();
      const path = join(dir, 'kv.journal');
      const kv = new JournalKeyValue(path, clock, { sealer });
      await kv.open();
      // Odd-length values with 2-, 3- and 4-byte characters, so chunk edges fall inside characters.
      const value = (i: number) => ({ i, text: `é€😀-${i}-`.repeat(40 + (i % 7)) });
      const ids = [...Array(6000).keys()];
      await Promise.all(ids.map((i) => kv.set('big', `k${i}`, value(i))));
      await Promise.all(ids.filter((i) => i % 3 === 0).map((i) => kv.delete('big', `k${i}`)));
      await kv.close();
      assert.ok((await readFile(path)).length > 3 * (1 << 20), 'the journal spans several read chunks');

      const reopened = new JournalKeyValue(path, clock, { sealer });
      await reopened.open(); // replays in chunks, then compacts (rewritten in batches)
      assert.equal(await reopened.count('big'), 4000);
      for (const i of [1, 2, 4, 2999, 5999]) assert.deepEqual(await reopened.get('big', `k${i}`), value(i));
      assert.equal(await reopened.get('big', 'k3'), undefined);
      await reopened.close();

      assert.equal((await openedLines(path)).length, 4000, 'the rewritten journal holds exactly the live entries');
      const again = new JournalKeyValue(path, clock, { sealer });
      await again.open();
      assert.deepEqual(await again.get('big', 'k5999'), value(5999));
      await again.close();
    }));

  test('set/get/delete, values are copies, TTL expiry', () =>
    withDir(async (dir) => {
      const clock = fakeClock();
      const kv = new JournalKeyValue(join(dir, 'kv.journal'), clock, { sealer });
      await kv.open();
      const value = { a: 1 };
      await kv.set('ns', 'k', value, { ttlSeconds: 10 });
      value.a = 2;
      assert.deepEqual(await kv.get('ns', 'k'), { a: 1 });
      clock.advance(10_001);
      assert.equal(await kv.get('ns', 'k'), undefined);
      await kv.set('ns', 'x', 'y');
      await kv.delete('ns', 'x');
      assert.equal(await kv.get('ns', 'x'), undefined);
      await kv.close();
    }));

  test('consume returns a value exactly once', () =>
    withDir(async (dir) => {
      const kv = new JournalKeyValue(join(dir, 'kv.journal'), fakeClock(), { sealer });
      await kv.open();
      await kv.set('ns', 'code', { user: 'alice' });
      const results = await Promise.all([kv.consume('ns', 'code'), kv.consume('ns', 'code'), kv.consume('ns', 'code')]);
      assert.equal(results.filter(Boolean).length, 1);
      await kv.close();
    }));

  test('compareAndSet: of many concurrent writers with the same expectation exactly one wins', () =>
    withDir(async (dir) => {
      const kv = new JournalKeyValue(join(dir, 'kv.journal'), fakeClock(), { sealer });
      await kv.open();
      await kv.set('totp', 'alice', { step: 10 });
      const wins = await Promise.all(Array.from({ length: 20 }, (_, i) => kv.compareAndSet('totp', 'alice', { step: 10 }, { step: 11 + i })));
      assert.equal(wins.filter(Boolean).length, 1);
      assert.equal(await kv.compareAndSet('fresh', 'key', undefined, 1), true);
      assert.equal(await kv.compareAndSet('fresh', 'key', undefined, 2), false);
      await kv.close();
    }));

  test('durable entries survive a reopen; memory-only and expired ones do not', () =>
    withDir(async (dir) => {
      const clock = fakeClock();
      const path = join(dir, 'kv.journal');
      const first = new JournalKeyValue(path, clock, { sealer });
      await first.open();
      await first.set('s', 'durable', 1);
      await first.set('s', 'memory', 2, { durable: false });
      await first.set('s', 'short', 3, { ttlSeconds: 1 });
      await first.set('s', 'gone', 4);
      await first.delete('s', 'gone');
      await first.close();
      clock.advance(2000);
      const second = new JournalKeyValue(path, clock, { sealer });
      await second.open();
      assert.equal(await second.get('s', 'durable'), 1);
      assert.equal(await second.get('s', 'memory'), undefined);
      assert.equal(await second.get('s', 'short'), undefined);
      assert.equal(await second.get('s', 'gone'), undefined);
      await second.close();
    }));

  test('a write is on disk when its promise resolves (kill -9 right after loses nothing)', () =>
    withDir(async (dir) => {
      const script = `
        import { JournalKeyValue } from ${JSON.stringify(new URL('../../src/store/journal-kv.ts', import.meta.url).href)};
        import { testSealer } from ${JSON.stringify(new URL('../helpers/journal-sealer.ts', import.meta.url).href)};
        const sealer = testSealer(Buffer.from(${JSON.stringify(key.toString('base64'))}, 'base64'));
        const kv = new JournalKeyValue(${JSON.stringify(join(dir, 'kv.journal'))}, { now: () => Date.now() }, { sealer });
        await kv.open();
        await Promise.all(Array.from({ length: 200 }, (_, i) => kv.set('sessions', 's' + i, { i })));
        process.stdout.write('written\\n');
        setInterval(() => {}, 1000);
      `;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      // A script that fails before its 'written' (its error is on stderr) ends the wait instead of hanging it; bounded either way.
      let stdout = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no 'written' within 60 s:\n${stdout}`)), 60_000);
        child.stdout.on('data', (chunk) => (stdout += chunk.toString()).includes('written') && (clearTimeout(timer), resolve()));
        child.once('exit', (code, signal) => (clearTimeout(timer), reject(new Error(`the writer exited (${code ?? signal}) before 'written':\n${stdout}`))));
      }).catch(async (error: Error) => {
        await killChild(child);
        throw error;
      });
      child.kill('SIGKILL');
      await waitForExit(child, { timeoutMs: 30_000, what: 'the writer (SIGKILL)' });
      const kv = new JournalKeyValue(join(dir, 'kv.journal'), { now: () => Date.now() }, { sealer });
      await kv.open();
      assert.equal(await kv.count('sessions'), 200);
      await kv.close();
    }));

  test('writes made by another process (the CLI) reach the owner within a second', () =>
    withDir(async (dir) => {
      const clock = { now: () => Date.now() };
      const server = new JournalKeyValue(join(dir, 'kv.journal'), clock, { sealer });
      await server.open();
      await server.set('mfa', 'alice', { locked: true });
      const cli = new JournalKeyValue(join(dir, 'kv.journal'), clock, { sealer, owner: false });
      await cli.open();
      await cli.set('mfa', 'alice', { locked: false });
      await cli.delete('mfa', 'bob');
      await cli.close();
      await new Promise((resolve) => setTimeout(resolve, 1200));
      assert.deepEqual(await server.get('mfa', 'alice'), { locked: false });
      await server.close();
    }));

  test("a CLI write that lands in the file before the server's own write to the same key still wins after a restart, as it did in the running server", () =>
    withDir(async (dir) => {
      // The tailer's timer is driven by hand, so the server's write surely falls between the CLI's append and the tail.
      mock.timers.enable({ apis: ['setInterval'] });
      try {
        const clock = { now: () => Date.now() };
        const path = join(dir, 'kv.journal');
        const server = new JournalKeyValue(path, clock, { sealer });
        await server.open();
        await server.set('regulation', 'u:alice', { failures: 4 });
        const cli = new JournalKeyValue(path, clock, { sealer, owner: false });
        await cli.open();
        await cli.delete('regulation', 'u:alice'); // the administrator's unlock
        await cli.close();
        await server.set('regulation', 'u:alice', { failures: 5, lockedUntil: 1 }); // a wrong password counted from the value before the unlock
        mock.timers.tick(500);
        for (let waited = 0; (await server.get('regulation', 'u:alice')) !== undefined; waited += 10) {
          assert.ok(waited < 5000, 'the server applies the CLI line');
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        await server.close();
        const restarted = new JournalKeyValue(path, clock, { sealer });
        await restarted.open();
        assert.equal(await restarted.get('regulation', 'u:alice'), undefined, 'the unlock holds after a restart');
        await restarted.close();
      } finally {
        mock.timers.reset();
      }
    }));

  test("a CLI that catches up on the server's lines writes none of them back: the server would take that copy as newer than its next change", () =>
    withDir(async (dir) => {
      const { server, cli } = await openServerAndCli(dir, sealer);
      await server.set('sso', 'session-1', { factors: ['pwd'] }); // a sign-in the server finished after the CLI opened the journal
      await cli.catchUp();
      assert.deepEqual(await cli.get('sso', 'session-1'), { factors: ['pwd'] }, 'the CLI sees it');
      await server.set('sso', 'session-1', { factors: ['pwd', 'otp'] }); // the same session, changed again
      await cli.close();
      await server.catchUp();
      assert.deepEqual(await server.get('sso', 'session-1'), { factors: ['pwd', 'otp'] });
      await server.close();
    }));

  test("a CLI catching up after the server compacted the journal reads the compacted one from its start: the server's lines since, and its own value", () =>
    withDir(async (dir) => {
      // The server's tailer is driven by hand: it takes the CLI's line only at the compaction's swap, after the snapshot.
      mock.timers.enable({ apis: ['setInterval'] });
      try {
        const { server, cli } = await openServerAndCli(dir, sealer);
        await server.set('mfa', 'carol', { locked: true });
        // Writes of a few keys, read by the CLI, two lines short of a compaction: the compacted journal is
        // far shorter than the CLI's offset in this one.
        for (let i = 0; i < 19_998; i += 1000) await Promise.all(Array.from({ length: Math.min(1000, 19_998 - i) }, (_, j) => server.set('bulk', `k${j % 5}`, i + j)));
        await cli.catchUp();
        await cli.set('mfa', 'carol', { locked: false }); // the command's own change, before the compaction
        await server.set('bulk', 'last', 1);
        await server.set('bulk', 'trigger', 2); // starts the compaction
        await server.catchUp(); // waits for it
        await server.set('sso', 'started-meanwhile', { user: 'alice' }); // a sign-in the server finished after the swap
        await cli.catchUp();
        assert.deepEqual(await cli.get('sso', 'started-meanwhile'), { user: 'alice' }, "the server's line written after the swap");
        assert.deepEqual(await cli.get('mfa', 'carol'), { locked: false }, 'its own change, which the compacted journal has after the snapshot');
        assert.deepEqual(await server.get('mfa', 'carol'), { locked: false });
        assert.equal(await cli.get('bulk', 'trigger'), 2);
        await cli.close();
        await server.close();
      } finally {
        mock.timers.reset();
      }
    }));

  test('a line the CLI appends just before a compaction is applied and kept in the compacted journal', () =>
    withDir(async (dir) => {
      const clock = { now: () => Date.now() };
      const path = join(dir, 'kv.journal');
      const server = new JournalKeyValue(path, clock, { sealer });
      await server.open();
      // One line short of the 20,000 that allow a compaction.
      for (let i = 0; i < 19_999; i += 1000) await Promise.all(Array.from({ length: Math.min(1000, 19_999 - i) }, (_, j) => server.set('bulk', `k${i + j}`, i + j)));
      const cli = new JournalKeyValue(path, clock, { sealer, owner: false });
      await cli.open();
      await cli.set('mfa', 'carol', { locked: false });
      await cli.close();
      // Before the tailer's next round (every 500 ms): these two writes start the compaction.
      await server.set('bulk', 'last', 1);
      await server.set('bulk', 'trigger', 2);
      await server.close(); // waits for the compaction
      assert.ok((await openedLines(path)).filter((line) => line.startsWith('S\t\t')).length >= 20_000, 'the journal was compacted (snapshot lines carry no writer)');
      const reopened = new JournalKeyValue(path, clock, { sealer });
      await reopened.open();
      assert.deepEqual(await reopened.get('mfa', 'carol'), { locked: false });
      assert.equal(await reopened.count('bulk'), 20_001);
      await reopened.close();
    }));

  test('a CLI that opened the journal before a compaction swapped it still writes into the journal the server reads', () =>
    withDir(async (dir) => {
      const clock = { now: () => Date.now() };
      const path = join(dir, 'kv.journal');
      const cli = new JournalKeyValue(path, clock, { sealer, owner: false });
      await cli.open();
      // The server's start compacts (rewrites and renames) the journal the CLI already holds open.
      const server = new JournalKeyValue(path, clock, { sealer });
      await server.open();
      await cli.set('mfa', 'dave', { locked: false });
      await cli.close();
      await new Promise((resolve) => setTimeout(resolve, 1200));
      assert.deepEqual(await server.get('mfa', 'dave'), { locked: false }, 'the running server picked the line up');
      await server.close();
      const reopened = new JournalKeyValue(path, clock, { sealer });
      await reopened.open();
      assert.deepEqual(await reopened.get('mfa', 'dave'), { locked: false }, 'the line is in the journal on disk');
      await reopened.close();
    }));

  test('CLI writes racing repeated compactions are all kept', (t) =>
    withDir(async (dir) => {
      const { server, cli, path } = await openServerAndCli(dir, sealer);
      let cliDone = false;
      // A small live set rewritten over and over: a compaction (a new journal file) every 20,000 lines,
      // for as long as the CLI writes.
      const churn = (async () => {
        // (t.signal: a test that timed out stops here too, instead of starving the next tests of this file)
        for (let round = 0; !cliDone && !t.signal.aborted; round += 1) await Promise.all(Array.from({ length: 1000 }, (_, i) => server.set('churn', `k${i % 50}`, round)));
      })();
      const filesSeen = new Set<number>();
      let written = 0;
      try {
        // Until the journal was swapped under the CLI at least three times.
        while (filesSeen.size < 4 || written < 20) {
          t.signal.throwIfAborted();
          await cli.set('cli', `k${written}`, written);
          written += 1;
          filesSeen.add((await stat(path)).ino);
        }
      } finally {
        // Also when a CLI write fails: the churn would otherwise run on for ever, and this test file never end.
        cliDone = true;
        await churn;
      }
      await cli.close();
      await server.close();
      const reopened = new JournalKeyValue(path, { now: () => Date.now() }, { sealer });
      await reopened.open();
      const missing = [];
      for (let i = 0; i < written; i += 1) if ((await reopened.get('cli', `k${i}`)) !== i) missing.push(i);
      assert.deepEqual(missing, [], 'no CLI write was lost');
      await reopened.close();
    }));

  test('values are stored verbatim: tabs, newlines, quotes and non-ASCII in namespaces, keys and values survive a reopen', () =>
    withDir(async (dir) => {
      const path = join(dir, 'kv.journal');
      const kv = new JournalKeyValue(path, fakeClock(), { sealer });
      await kv.open();
      const awkward = 'tab\there\nnewline "quoted" \\ back€😀\u2028';
      await kv.set(`ns\t${awkward}`, `key\n${awkward}`, { text: awkward, nested: { list: [awkward, 1, null] } }, { ttlSeconds: 60 });
      await kv.close();
      const line = (await openedLines(path)).at(-1)!;
      assert.ok(line.endsWith(JSON.stringify({ text: awkward, nested: { list: [awkward, 1, null] } })), 'the value is the JSON itself, not JSON inside a JSON string');
      const reopened = new JournalKeyValue(path, fakeClock(), { sealer });
      await reopened.open();
      assert.deepEqual(await reopened.get(`ns\t${awkward}`, `key\n${awkward}`), { text: awkward, nested: { list: [awkward, 1, null] } });
      await reopened.close();
    }));

  test('journals written in the first line format (one JSON object per line) are still read', () =>
    withDir(async (dir) => {
      const path = join(dir, 'kv.journal');
      const lines = [
        { o: 's', n: 'sessions', k: 'a', v: JSON.stringify({ user: 'alice' }), w: 'old' },
        { o: 's', n: 'sessions', k: 'b', v: JSON.stringify({ user: 'bob' }), e: Date.now() + 60_000 },
        { o: 's', n: 'sessions', k: 'c', v: JSON.stringify({ user: 'carol' }) },
        { o: 'd', n: 'sessions', k: 'c' },
      ];
      await writeFile(path, lines.map((line) => JSON.stringify(line) + '\n').join(''));
      const kv = new JournalKeyValue(path, { now: () => Date.now() }, { sealer });
      await kv.open();
      assert.deepEqual(await kv.get('sessions', 'a'), { user: 'alice' });
      assert.deepEqual(await kv.get('sessions', 'b'), { user: 'bob' });
      assert.equal(await kv.get('sessions', 'c'), undefined);
      await kv.close();
    }));

  test('a line torn by a crash is skipped; a later append by another process is kept, not glued to it', () =>
    withDir(async (dir) => {
      const path = join(dir, 'kv.journal');
      const kv = new JournalKeyValue(path, fakeClock(), { sealer });
      await kv.open();
      await kv.set('s', 'before', { n: 1 });
      await kv.set('s', 'torn', { n: 2, padding: 'x'.repeat(40) });
      await kv.close();
      const text = await readFile(path, 'utf8');
      // The last write was cut short by a crash; a short-lived process (the CLI) then appended its line.
      await writeFile(path, text.slice(0, text.length - 12));
      const cli = new JournalKeyValue(path, fakeClock(), { sealer, owner: false });
      await cli.open();
      await cli.set('s', 'after', { n: 3 });
      await cli.close();
      const reopened = new JournalKeyValue(path, fakeClock(), { sealer });
      await reopened.open();
      assert.deepEqual(await reopened.get('s', 'before'), { n: 1 });
      assert.equal(await reopened.get('s', 'torn'), undefined, 'the torn value is not read as corrupt JSON');
      assert.deepEqual(await reopened.get('s', 'after'), { n: 3 });
      await reopened.close();
      // Glued by hand (as an older writer would have): AES-GCM refuses the torn line and the one glued to it.
      const later = new JournalKeyValue(path, fakeClock(), { sealer, owner: false });
      await later.open();
      await later.set('s', 'torn again', { n: 4 });
      await later.set('s', 'glued', { n: 5 });
      await later.close();
      const [snapshot, torn, next] = (await readFile(path, 'utf8')).split('\n').filter(Boolean);
      await writeFile(path, `${snapshot}\n${torn!.slice(0, -5)}${next}\n`);
      const glued = new JournalKeyValue(path, fakeClock(), { sealer });
      await glued.open();
      assert.equal(glued.rejectedLines, 1);
      assert.equal(await glued.count('s'), 2, 'the lines before the glued one are read');
      await glued.close();
    }));

  test('a namespace emptied by deletes, consumes or expiry is dropped from memory (per-grant indexes do not pile up)', () =>
    withDir(async (dir) => {
      const clock = fakeClock();
      const kv = new JournalKeyValue(join(dir, 'kv.journal'), clock, { sealer });
      await kv.open();
      await kv.set('kept', 'k', 1);
      const before = kv.namespaceCount;
      for (let grant = 0; grant < 300; grant++) {
        await kv.set(`grant:${grant}`, 'token', true, { ttlSeconds: 60 });
        await kv.set(`code:${grant}`, 'c', 'x', { durable: false });
      }
      assert.equal(kv.namespaceCount, before + 600);
      for (let grant = 0; grant < 100; grant++) await kv.delete(`grant:${grant}`, 'token');
      for (let grant = 0; grant < 300; grant++) assert.equal(await kv.consume(`code:${grant}`, 'c'), 'x');
      assert.equal(kv.namespaceCount, before + 200);
      clock.advance(61_000);
      for (let grant = 100; grant < 300; grant++) assert.equal(await kv.get(`grant:${grant}`, 'token'), undefined);
      assert.equal(kv.namespaceCount, before);
      assert.equal(await kv.get('kept', 'k'), 1);
      await kv.set('grant:7', 'token', true);
      assert.equal(await kv.get('grant:7', 'token'), true, 'a dropped namespace comes back on the next write');
      await kv.close();
    }));

  test('the minute sweep drops expired entries a slice at a time, yielding to the event loop between slices', () =>
    withDir(async (dir) => {
      mock.timers.enable({ apis: ['setInterval'] });
      try {
        const clock = fakeClock();
        const kv = new JournalKeyValue(join(dir, 'kv.journal'), clock, { sealer });
        await kv.open();
        await kv.set('kept', 'k', 1);
        for (let n = 0; n < 40; n++) await Promise.all(Array.from({ length: 1000 }, (_, i) => kv.set(`ns${n}`, `k${i}`, i, { ttlSeconds: 30, durable: false })));
        assert.equal(kv.namespaceCount, 41);
        clock.advance(31_000);
        mock.timers.tick(60_000); // starts the sweep
        assert.ok(kv.namespaceCount > 1, 'the first slice ends before every namespace is swept');
        let turns = 0;
        while (kv.namespaceCount > 1 && turns++ < 100) await new Promise((resolve) => setImmediate(resolve));
        assert.equal(kv.namespaceCount, 1, 'every expired entry (and its emptied namespace) is gone');
        assert.ok(turns >= 3, `the sweep took several turns of the event loop (${turns})`);
        assert.equal(await kv.get('kept', 'k'), 1);
        await kv.close();
      } finally {
        mock.timers.reset();
      }
    }));

  test('per-write cost does not grow with the number of entries: one appended line per set', () =>
    withDir(async (dir) => {
      const path = join(dir, 'kv.journal');
      const kv = new JournalKeyValue(path, fakeClock(), { sealer });
      await kv.open();
      for (let i = 0; i < 5000; i++) await kv.set('sessions', `s${i}`, { i });
      const before = (await readFile(path, 'utf8')).length;
      await kv.set('sessions', 'one-more', { i: -1 });
      const grown = (await readFile(path, 'utf8')).length - before;
      assert.ok(grown < 200, `one set appended ${grown} bytes`);
      await kv.close();
    }));

  test('the writes of one turn are sealed together, in records of at most 16 KB, and each is read back', () =>
    withDir(async (dir) => {
      const path = join(dir, 'kv.journal');
      const kv = new JournalKeyValue(path, fakeClock(), { sealer });
      await kv.open();
      const linesOf = async () => (await readFile(path, 'utf8')).split('\n').filter(Boolean);
      const before = (await linesOf()).length;
      await Promise.all(Array.from({ length: 10 }, (_, i) => kv.set('sessions', `small${i}`, { i })));
      assert.equal((await linesOf()).length - before, 1, 'ten writes of one turn, one sealed line');
      const large = 'x'.repeat(1000);
      await Promise.all(Array.from({ length: 100 }, (_, i) => kv.set('sessions', `large${i}`, { i, large })));
      const records = (await linesOf()).slice(before + 1).map((line) => sealer.open(line.split('\t')[2]!));
      assert.ok(records.length >= 6 && records.length <= 8, `100 KB of writes in ${records.length} sealed lines`);
      for (const record of records) assert.ok(record.length < 16 * 1024 + 1100, `a record of ${record.length} characters`);
      await kv.close();
      const reopened = new JournalKeyValue(path, fakeClock(), { sealer });
      await reopened.open();
      for (let i = 0; i < 10; i++) assert.deepEqual(await reopened.get('sessions', `small${i}`), { i });
      for (let i = 0; i < 100; i++) assert.deepEqual(await reopened.get('sessions', `large${i}`), { i, large });
      assert.equal(reopened.rejectedLines, 0);
      await reopened.close();
    }));
});

describe('append file', () => {
  test('appends made during a rewrite are not held until it ends, and the new file keeps them after the snapshot', () =>
    withDir(async (dir) => {
      const path = join(dir, 'log');
      const file = new AppendFile(path);
      await file.open();
      await file.append('old line');
      const order: string[] = [];
      let during: Promise<void> | undefined;
      // About 6 MB: six batches, each a separate write, so the rewrite takes several thread-pool round trips.
      function* snapshot() {
        for (let i = 0; i < 60_000; i++) {
          if (i === 100) during = file.append('appended during the rewrite').then(() => void order.push('append'));
          yield `snapshot ${i} ${'x'.repeat(90)}`;
        }
      }
      const size = await file.rewrite(snapshot);
      order.push('rewrite');
      await during;
      assert.deepEqual(order, ['append', 'rewrite'], 'the append was written while the rewrite ran');
      await file.append('appended after');
      await file.close();
      const lines = (await readFile(path, 'utf8')).split('\n').filter(Boolean);
      assert.equal(lines.length, 60_000 + 2);
      assert.equal(lines[0], `snapshot 0 ${'x'.repeat(90)}`);
      assert.deepEqual(lines.slice(-2), ['appended during the rewrite', 'appended after']);
      assert.ok(!lines.includes('old line'), 'the old content is replaced');
      assert.equal(size, (await readFile(path)).length - Buffer.byteLength('appended after\n'), 'rewrite returns the size of what it wrote');
    }));

  test('a rewrite that fails leaves the file whole, and appends go on to it', () =>
    withDir(async (dir) => {
      const path = join(dir, 'log');
      const file = new AppendFile(path);
      await file.open();
      await file.append('first');
      function* broken() {
        yield 'replacement';
        throw new Error('snapshot failed');
      }
      await assert.rejects(file.rewrite(broken), /snapshot failed/);
      await file.append('second');
      await file.close();
      assert.equal(await readFile(path, 'utf8'), 'first\nsecond\n');
    }));
});

describe('file lock', () => {
  test('one holder at a time; the next waits for the release', () =>
    withDir(async (dir) => {
      const lock = new FileLock(join(dir, 'x.lock'));
      const order: string[] = [];
      let releaseFirst!: () => void;
      let firstIn!: () => void;
      const firstHolds = new Promise<void>((resolve) => (firstIn = resolve));
      const first = lock.hold(async () => {
        order.push('first in');
        firstIn();
        await new Promise<void>((resolve) => (releaseFirst = resolve));
        order.push('first out');
      });
      // The first holds the lock before the second asks (under load, taking it can outlast any fixed sleep).
      await firstHolds;
      const second = lock.hold(async () => void order.push('second in'));
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(order, ['first in'], 'the second holder waits');
      releaseFirst();
      await Promise.all([first, second]);
      assert.deepEqual(order, ['first in', 'first out', 'second in']);
      await assert.rejects(access(join(dir, 'x.lock')), 'no lock file is left behind');
    }));

  test('a lock left by a process that died holding it is taken over', () =>
    withDir(async (dir) => {
      const child = spawn(process.execPath, ['-e', '']);
      await waitForExit(child, { what: 'node -e ""' });
      await writeFile(join(dir, 'x.lock'), `${child.pid} abc`);
      let ran = false;
      await new FileLock(join(dir, 'x.lock')).hold(async () => void (ran = true));
      assert.ok(ran);
    }));

  test("a lock left by an earlier process with this process's pid (a container's pid 1 after a kill -9) is taken over at once", () =>
    withDir(async (dir) => {
      await writeFile(join(dir, 'x.lock'), `${process.pid} left-by-an-earlier-life`);
      const started = Date.now();
      let ran = false;
      await new FileLock(join(dir, 'x.lock')).hold(async () => void (ran = true));
      assert.ok(ran);
      assert.ok(Date.now() - started < 2_000, 'not after the 10 s wait for a live holder');
    }));

  test('a lock file whose holder died before writing its pid is taken over after a while, not at once', () =>
    withDir(async (dir) => {
      const path = join(dir, 'x.lock');
      await writeFile(path, '');
      const lock = new FileLock(path);
      const started = Date.now();
      // Fresh and empty: maybe a holder between creating it and writing its pid, so it is waited for.
      const waited = lock.hold(async () => Date.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const old = new Date(Date.now() - 10_000);
      await utimes(path, old, old);
      assert.ok((await waited) >= 100);
    }));

  test('a lock held by a live process is not taken over', () =>
    withDir(async (dir) => {
      const path = join(dir, 'x.lock');
      const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600)']);
      await writeFile(path, `${child.pid} abc`);
      const started = Date.now();
      await new FileLock(path).hold(async () => undefined);
      // (it may have exited before this line, even before the lock was written under load: waitForExit sees that)
      await waitForExit(child, { what: 'the lock holder' });
      assert.ok(Date.now() - started >= 400, 'it waited for the holder to end');
    }));
});

describe('lowdb store', () => {
  test('collections written by another process are seen by a running one', () =>
    withDir(async (dir) => {
      const clock = { now: () => Date.now() };
      const server = await new LowdbStore(dir, clock, { sealer }).open();
      const cli = await new LowdbStore(dir, clock, { sealer, owner: false }).open();
      await cli.collection<{ id: string; name: string }>('sp').put({ id: 'https://sp.example', name: 'SP' });
      await cli.close();
      // A miss looks at the file at once, so a record registered by the CLI is found without waiting.
      assert.deepEqual(await server.collection('sp').get('https://sp.example'), { id: 'https://sp.example', name: 'SP' });
      await cli.open();
      await cli.collection<{ id: string; name: string }>('sp').put({ id: 'https://sp.example', name: 'Renamed' });
      await cli.close();
      await new Promise((resolve) => setTimeout(resolve, 1100));
      assert.equal((await server.collection<{ id: string; name: string }>('sp').get('https://sp.example'))?.name, 'Renamed');
      await server.close();
    }));

  test('concurrent puts to a collection are all kept', () =>
    withDir(async (dir) => {
      const store = await new LowdbStore(dir, { now: () => Date.now() }, { sealer }).open();
      const records = store.collection<{ id: string }>('many');
      await Promise.all(Array.from({ length: 25 }, (_, i) => records.put({ id: `r${i}` })));
      assert.equal((await records.list()).length, 25);
      await store.close();
    }));

  test('puts from two processes at once are all kept (each read-change-write holds the file lock)', () =>
    withDir(async (dir) => {
      // Two stores on one data directory stand for the server and the admin CLI.
      const server = await new LowdbStore(dir, { now: () => Date.now() }, { sealer }).open();
      const cli = await new LowdbStore(dir, { now: () => Date.now() }, { sealer, owner: false }).open();
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => [server.collection<{ id: string }>('sp').put({ id: `server${i}` }), cli.collection<{ id: string }>('sp').put({ id: `cli${i}` })]).flat(),
      );
      await cli.close();
      await server.close();
      const reopened = await new LowdbStore(dir, { now: () => Date.now() }, { sealer }).open();
      const ids = (await reopened.collection<{ id: string }>('sp').list()).map((record) => record.id);
      assert.equal(ids.length, 40, `kept: ${ids.sort().join(' ')}`);
      await reopened.close();
    }));

  test('local users are found by username or email in any case, through an index built once per change', () =>
    withDir(async (dir) => {
      const store = await new LowdbStore(dir, { now: () => Date.now() }, { sealer }).open();
      const user = (id: string, username: string, email?: string): LocalUserRecord => ({ id, username, email, groups: [], attributes: {}, previousPasswordHashes: [], mustChangePassword: false, disabled: false, oneTimeUse: false, createdAt: 0 });
      const users = localUsers(store);
      await users.put(user('1', 'Alice', 'alice@example.org'));
      await users.put(user('2', 'bob', 'ALICE2@example.org'));
      // Carol's email is Dave's username: the username wins.
      await users.put(user('3', 'carol', 'dave'));
      await users.put(user('4', 'dave'));
      assert.equal((await findLocalUserByName(users, 'ALICE'))?.id, '1');
      assert.equal((await findLocalUserByName(users, 'alice2@EXAMPLE.org'))?.id, '2');
      assert.equal((await findLocalUserByName(users, 'dave'))?.id, '4');
      assert.equal(await findLocalUserByName(users, 'nobody'), undefined);
      await users.put(user('1', 'alicia', 'alice@example.org'));
      assert.equal(await findLocalUserByName(users, 'alice'), undefined, 'a renamed user is not found by the old name');
      assert.equal((await findLocalUserByName(users, 'Alicia'))?.id, '1');
      await users.remove('2');
      assert.equal(await findLocalUserByName(users, 'bob'), undefined);

      // Another process (the CLI) adds a user: found at once, not after the once-a-second file check.
      const cli = await new LowdbStore(dir, { now: () => Date.now() }, { sealer, owner: false }).open();
      await localUsers(cli).put(user('5', 'erin'));
      await cli.close();
      assert.equal((await findLocalUserByName(users, 'erin'))?.id, '5');

      // Lookups between changes use the index: each record's keys are computed once, not per lookup.
      let keyCalls = 0;
      const countingStore = await new LowdbStore(dir, { now: () => Date.now() }, { sealer }).open();
      const fresh = countingStore.collection<LocalUserRecord>('local-users', { lookupKeys: (record) => (keyCalls += 1, [record.username]) });
      for (let i = 0; i < 50; i += 1) assert.equal((await fresh.lookup('carol'))?.id, '3');
      assert.equal(keyCalls, 4, 'one call per stored user for 50 lookups');
      await countingStore.close();
      await store.close();
    }));

  test('audit events are appended and read oldest first', () =>
    withDir(async (dir) => {
      const store = await new LowdbStore(dir, { now: () => Date.now() }, { sealer }).open();
      await store.audit.record({ type: 'login', outcome: 'failure', username: 'a' });
      await store.audit.record({ type: 'login', outcome: 'success', username: 'b' });
      const { events } = await store.audit.query({ limit: 10 });
      assert.deepEqual(events.map((event) => event.username), ['a', 'b']);
      await store.close();
    }));
});

describe('a full disk', () => {
  test('a write cut short is an error, not an acknowledged write; the next line after space returns is kept whole', () =>
    withDir(async (dir) => {
      const { open } = await import('node:fs/promises');
      const probe = await open(join(dir, 'probe'), 'w');
      const fileHandle = Object.getPrototypeOf(probe) as { write: (...args: unknown[]) => Promise<{ bytesWritten: number }> };
      await probe.close();
      const path = join(dir, 'kv.journal');
      const kv = new JournalKeyValue(path, fakeClock(), { sealer });
      await kv.open();
      await kv.set('sessions', 'before', { user: 'alice' });

      // As write(2) behaves when the disk fills: part of the bytes and a shorter count, then ENOSPC.
      const original = fileHandle.write;
      let calls = 0;
      fileHandle.write = async function (this: unknown, buffer: unknown, offset: unknown, length: unknown) {
        calls += 1;
        if (calls === 1) {
          const bytes = Buffer.isBuffer(buffer) ? buffer.subarray(offset as number, (offset as number) + (length as number)) : Buffer.from(buffer as string);
          return original.call(this, bytes, 0, Math.floor(bytes.length / 2));
        }
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      };
      try {
        await assert.rejects(kv.set('sessions', 'during', { user: 'bob', padding: 'x'.repeat(200) }), /ENOSPC/);
      } finally {
        fileHandle.write = original;
      }
      await kv.set('sessions', 'after', { user: 'carol' });
      await kv.close();

      const reopened = new JournalKeyValue(path, fakeClock(), { sealer });
      await reopened.open();
      assert.deepEqual(await reopened.get('sessions', 'before'), { user: 'alice' });
      assert.deepEqual(await reopened.get('sessions', 'after'), { user: 'carol' }, 'the line after the torn one is not glued onto it');
      assert.equal(await reopened.get('sessions', 'during'), undefined, 'the failed write was never acknowledged');
      await reopened.close();
    }));
});

describe('a data directory that lost or broke db.json', () => {
  test('db.json gone while the journal and audit log remain: refused, never taken for a first start', () =>
    withDir(async (dir) => {
      const store = await new LowdbStore(dir, fakeClock(), { sealer }).open();
      await localUsers(store).put({ id: 'u1', username: 'alice' } as unknown as LocalUserRecord);
      await store.kv.set('sso-session', 's1', { user: 'alice' });
      await store.close();
      await rm(join(dir, 'db.json'));
      assert.throws(() => LowdbStore.isFresh(dir), (error: Error) => error.name === 'Error' && /db\.json is missing, but kv\.journal/.test(error.message) && /Restore db\.json/.test(error.message));
      await withTempDir('stepgate-empty-', async (empty) => assert.equal(LowdbStore.isFresh(empty), true, 'an empty directory is a first start'));
    }));

  test('a journal that cannot be opened (a directory in its place) is named with its path', () =>
    withDir(async (dir) => {
      const { mkdir } = await import('node:fs/promises');
      await mkdir(join(dir, 'kv.journal'));
      await assert.rejects(new LowdbStore(dir, fakeClock(), { sealer }).open(), (error: Error) => error.message.startsWith(`${join(dir, 'kv.journal')} cannot be used: EISDIR`));
    }));

  for (const [label, content] of [
    ['null', 'null'],
    ['an empty object', '{}'],
    ['cut short', '{"version":1,"collections":{"local-users":{"u1":{"id":"u1","usern'],
    ['empty', ''],
  ] as const) {
    test(`db.json ${label}: refused with its path, and left as it was`, () =>
      withDir(async (dir) => {
        await writeFile(join(dir, 'db.json'), content);
        await assert.rejects(new LowdbStore(dir, fakeClock(), { sealer }).open(), (error: Error) => error.message.includes(join(dir, 'db.json')) && /cannot be used/.test(error.message));
        assert.equal(await readFile(join(dir, 'db.json'), 'utf8'), content, 'not written over');
      }));
  }

  test('db.json this process may not read (another user wrote it): named with its owner and chown, not a backup', () =>
    withDir(async (dir) => {
      const dbPath = join(dir, 'db.json');
      await writeFile(dbPath, '{"version":1,"collections":{}}');
      // Root reads any file, so the refusal a service user gets is made here, as lowdb's own `readFile` sees it.
      const fsPromises = (await import('node:fs')).promises;
      const original = fsPromises.readFile;
      fsPromises.readFile = (async (path: Parameters<typeof original>[0], ...rest: unknown[]) => {
        if (String(path) === dbPath) throw Object.assign(new Error(`EACCES: permission denied, open '${dbPath}'`), { code: 'EACCES' });
        return (original as (...args: unknown[]) => unknown)(path, ...rest);
      }) as typeof original;
      syncBuiltinESMExports();
      try {
        await assert.rejects(new LowdbStore(dir, fakeClock(), { sealer }).open(), (error: Error) =>
          error.message.startsWith(`${dbPath} cannot be read: EACCES`) && new RegExp(`belongs to user id ${process.getuid!()}`).test(error.message) && /chown/.test(error.message) && /do not restore a backup/.test(error.message));
      } finally {
        fsPromises.readFile = original;
        syncBuiltinESMExports();
      }
      assert.equal(await readFile(dbPath, 'utf8'), '{"version":1,"collections":{}}', 'not written over');
    }));

  for (const code of ['EACCES', 'EPERM']) {
    test(`db.json another user owns, refused with ${code}: its owner is named, not this process's user, nor its group`, { skip: process.getuid?.() !== 0 && 'only root can give a file to another user' }, () =>
      withDir(async (dir) => {
        const dbPath = join(dir, 'db.json');
        await writeFile(dbPath, '{"version":1,"collections":{}}');
        await chown(dbPath, 65534, 65533);
        // Root reads any file: the refusal the server's user gets is made here, as lowdb's own `readFile` sees it.
        const fsPromises = (await import('node:fs')).promises;
        const original = fsPromises.readFile;
        fsPromises.readFile = (async (path: Parameters<typeof original>[0], ...rest: unknown[]) => {
          if (String(path) === dbPath) throw Object.assign(new Error(`${code}: operation refused, open '${dbPath}'`), { code });
          return (original as (...args: unknown[]) => unknown)(path, ...rest);
        }) as typeof original;
        syncBuiltinESMExports();
        try {
          await assert.rejects(new LowdbStore(dir, fakeClock(), { sealer }).open(), (error: Error) => {
            assert.match(error.message, new RegExp(`^${dbPath} cannot be read: ${code}`));
            assert.match(error.message, /It belongs to user id 65534, and this process runs as user id 0\./);
            assert.match(error.message, /do not restore a backup/);
            return true;
          });
        } finally {
          fsPromises.readFile = original;
          syncBuiltinESMExports();
        }
      }));
  }
});

describe('damaged journal lines', () => {
  test('are counted and kept aside at open, never read as values and never silently deleted', () =>
    withDir(async (dir) => {
      const path = join(dir, 'kv.journal');
      const kv = new JournalKeyValue(path, fakeClock(), { sealer });
      await kv.open();
      await kv.set('mfa-totp-state', 'alice', { failures: 1 });
      await kv.set('mfa-totp-state', 'bob', { failures: 2 });
      await kv.set('mfa-totp-state', 'carol', { failures: 3 });
      await kv.close();
      const lines = (await readFile(path, 'utf8')).split('\n').filter(Boolean);
      // One character of the sealed text changed: AES-GCM refuses the whole line.
      const flipped = lines[1]!.at(-10) === 'A' ? 'B' : 'A';
      const damagedInPlace = `${lines[1]!.slice(0, -10)}${flipped}${lines[1]!.slice(-9)}`;
      await writeFile(path, [lines[0], damagedInPlace, 'GARBAGE LINE!!', lines[2], ''].join('\n'));

      const reopened = new JournalKeyValue(path, fakeClock(), { sealer });
      await reopened.open();
      assert.equal(reopened.rejectedLines, 2);
      assert.deepEqual(await reopened.get('mfa-totp-state', 'alice'), { failures: 1 });
      assert.equal(await reopened.get('mfa-totp-state', 'bob'), undefined, 'a value damaged in place is not served (it would fail every read)');
      assert.deepEqual(await reopened.get('mfa-totp-state', 'carol'), { failures: 3 });
      const [keptDamaged, keptGarbage] = (await readFile(reopened.rejectedPath, 'utf8')).split('\n').filter(Boolean);
      assert.equal(keptDamaged, damagedInPlace);
      assert.equal(sealer.open(keptGarbage!.split('\t')[2]!), 'GARBAGE LINE!!', 'a plaintext line is kept sealed, like the journal');
      assert.equal(((await stat(reopened.rejectedPath)).mode & 0o777).toString(8), '600');
      await reopened.close();
    }));
});
