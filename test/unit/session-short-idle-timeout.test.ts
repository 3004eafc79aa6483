import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionService } from '../../src/session/session-service.ts';
import { CookieJar } from '../../src/http/cookies.ts';
import type { KeyValue } from '../../src/store/store.ts';
import type { User } from '../../src/core/types.ts';
import { SessionBrowser, withSessionStore } from '../helpers/session-browser.ts';

/**
 * README: a session ends idleTimeoutMinutes after its last use, also with the shortest timeout the
 * configuration allows (1 minute). A use is written at most once a minute for the default timeouts;
 * a one-minute timeout written as seldom could never be moved on.
 */
const ALICE: User = { id: 'alice-id', username: 'alice', groups: [], attributes: {} };
let now = Date.parse('2026-11-25T08:00:00Z');
const clock = { now: () => now };
const seconds = (count: number) => void (now += count * 1000);

function sessionsOn(kv: KeyValue, idleTimeoutMinutes: number): SessionService {
  return new SessionService(kv, { cookieName: 'sg_session', idleTimeoutMinutes, absoluteTimeoutHours: 1 }, clock, new CookieJar('http://localhost'));
}

test('with a one-minute idle timeout, a browser used every 40 seconds keeps its session', () =>
  withSessionStore(clock, async (kv) => {
    const sessions = sessionsOn(kv, 1);
    const browser = new SessionBrowser();
    const { session } = await sessions.start(browser.request(), browser.response(), ALICE, [{ method: 'pwd', at: now }]);
    for (let use = 1; use <= 5; use++) {
      seconds(40);
      assert.equal((await sessions.current(browser.request()))?.id, session.id, `use ${use}, ${use * 40} s after sign-in`);
    }
    seconds(60 + 1);
    assert.equal(await sessions.current(browser.request()), undefined, 'a minute after the last use it has ended');
  }));

test('with a one-minute idle timeout, a client refreshing 50 seconds after each short access token keeps the session for its back end', () =>
  withSessionStore(clock, async (kv) => {
    const sessions = sessionsOn(kv, 1);
    const browser = new SessionBrowser();
    const { session } = await sessions.start(browser.request(), browser.response(), ALICE, [{ method: 'pwd', at: now }]);
    const accessTokenMs = 4_000;
    await sessions.usedByTokensUntil(session, now + accessTokenMs);
    for (let refresh = 1; refresh <= 5; refresh++) {
      seconds(50);
      const found = await sessions.peek(session.id);
      assert.ok(found, `refresh ${refresh}, ${refresh * 50} s after sign-in`);
      await sessions.usedByTokensUntil(found, now + accessTokenMs);
    }
  }));

test('with the default idle timeout a use is still written at most once a minute', () =>
  withSessionStore(clock, async (kv) => {
    const sessions = sessionsOn(kv, 30);
    const browser = new SessionBrowser();
    const { session } = await sessions.start(browser.request(), browser.response(), ALICE, [{ method: 'pwd', at: now }]);
    seconds(59);
    assert.equal((await sessions.current(browser.request()))?.lastSeenAt, session.lastSeenAt);
    seconds(2);
    assert.equal((await sessions.current(browser.request()))?.lastSeenAt, now);
  }));

test('with an idle timeout longer than 30 minutes a use is still written at most once a minute, not a thirtieth of it', () =>
  withSessionStore(clock, async (kv) => {
    const sessions = sessionsOn(kv, 120);
    const browser = new SessionBrowser();
    await sessions.start(browser.request(), browser.response(), ALICE, [{ method: 'pwd', at: now }]);
    seconds(61);
    assert.equal((await sessions.current(browser.request()))?.lastSeenAt, now, 'README: counted to the minute');
  }));
