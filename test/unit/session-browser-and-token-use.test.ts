import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionService } from '../../src/session/session-service.ts';
import { CookieJar } from '../../src/http/cookies.ts';
import type { KeyValue } from '../../src/store/store.ts';
import type { User } from '../../src/core/types.ts';
import { SessionBrowser, withSessionStore } from '../helpers/session-browser.ts';

/**
 * Two idle timeouts: the browser's own (only its use moves it) and the session's for its clients'
 * back ends (a client's access token counts as use until it expires). README: an unattended browser
 * signs out idleTimeoutMinutes after its last use, while a client that refreshes finds the session.
 */
const ALICE: User = { id: 'alice-id', username: 'alice', groups: [], attributes: {} };
const IDLE_MINUTES = 30;
let now = Date.parse('2026-11-22T08:00:00Z');
const clock = { now: () => now };
const minutes = (count: number) => void (now += count * 60_000);

function sessionsOn(kv: KeyValue): SessionService {
  return new SessionService(kv, { cookieName: 'sg_session', idleTimeoutMinutes: IDLE_MINUTES, absoluteTimeoutHours: 8 }, clock, new CookieJar('http://localhost'));
}

test('a client\'s access token keeps the session for the client\'s back end, not for the idle browser', () =>
  withSessionStore(clock, async (kv) => {
    const sessions = sessionsOn(kv);
    const browser = new SessionBrowser();
    const { session } = await sessions.start(browser.request(), browser.response(), ALICE, [{ method: 'pwd', at: now }]);
    await sessions.usedByTokensUntil(session, now + 60 * 60_000);
    minutes(IDLE_MINUTES + 1);
    assert.equal(await sessions.current(browser.request()), undefined, 'the browser is signed out');
    assert.ok(await sessions.peek(session.id), 'the client\'s refresh finds the session');
    assert.deepEqual((await sessions.live()).map((live) => live.id), [session.id], 'it is still listed for the administrator');
    assert.equal(sessions.isLiveForBrowser((await sessions.peek(session.id))!), false);
  }));

test('an earlier token expiry told late does not shorten the time a later one gave', () =>
  withSessionStore(clock, async (kv) => {
    const sessions = sessionsOn(kv);
    const browser = new SessionBrowser();
    const { session } = await sessions.start(browser.request(), browser.response(), ALICE, [{ method: 'pwd', at: now }]);
    await sessions.usedByTokensUntil(session, now + 60 * 60_000);
    await sessions.usedByTokensUntil(session, now + 10 * 60_000); // the copy read before the first grant
    minutes(10 + IDLE_MINUTES + 5);
    assert.ok(await sessions.peek(session.id));
  }));

test('a browser back exactly idleTimeoutMinutes after its last use still finds its session; a moment later it does not', () =>
  withSessionStore(clock, async (kv) => {
    const sessions = sessionsOn(kv);
    const browser = new SessionBrowser();
    const { session } = await sessions.start(browser.request(), browser.response(), ALICE, [{ method: 'pwd', at: now }]);
    minutes(IDLE_MINUTES);
    assert.equal((await sessions.current(browser.request()))?.id, session.id);
    minutes(IDLE_MINUTES);
    now += 1;
    assert.equal(await sessions.current(browser.request()), undefined);
  }));

test('signing out clears the browser\'s session cookie', () =>
  withSessionStore(clock, async (kv) => {
    const sessions = sessionsOn(kv);
    const browser = new SessionBrowser();
    await sessions.start(browser.request(), browser.response(), ALICE, [{ method: 'pwd', at: now }]);
    assert.ok(browser.cookies.has('sg_session'));
    await sessions.end(browser.request(), browser.response(), 'sso-logout');
    assert.equal(browser.cookies.has('sg_session'), false, browser.setCookies.at(-1));
  }));

test('each later token expiry moves the session\'s use on for the client\'s back end', () =>
  withSessionStore(clock, async (kv) => {
    const sessions = sessionsOn(kv);
    const browser = new SessionBrowser();
    const { session } = await sessions.start(browser.request(), browser.response(), ALICE, [{ method: 'pwd', at: now }]);
    await sessions.usedByTokensUntil(session, now + 10 * 60_000);
    await sessions.usedByTokensUntil((await sessions.peek(session.id))!, now + 40 * 60_000);
    minutes(40 + IDLE_MINUTES - 5);
    assert.ok(await sessions.peek(session.id), 'idle only since the later token expired');
  }));
