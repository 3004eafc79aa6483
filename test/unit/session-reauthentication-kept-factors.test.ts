import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionService } from '../../src/session/session-service.ts';
import type { SsoSession } from '../../src/session/sso-session.ts';
import { CookieJar } from '../../src/http/cookies.ts';
import type { KeyValue } from '../../src/store/store.ts';
import type { User } from '../../src/core/types.ts';
import { SessionBrowser, withSessionStore } from '../helpers/session-browser.ts';

/**
 * A re-authentication of the same user in the same browser keeps the second factor its session
 * proved (marked as kept, with its time) and the applications it signed in to; never from a session
 * idled out, never for another user, and never past absoluteTimeoutHours from the proof.
 */
const ALICE: User = { id: 'alice-id', username: 'alice', groups: [], attributes: {} };
const BOB: User = { id: 'bob-id', username: 'bob', groups: [], attributes: {} };
const IDLE_MINUTES = 30;
const ABSOLUTE_HOURS = 2;
let now = Date.parse('2026-11-22T08:00:00Z');
const clock = { now: () => now };
const minutes = (count: number) => void (now += count * 60_000);
const methods = (session: SsoSession | undefined) => session?.factors.map((factor) => factor.method).sort();

function sessionsOn(kv: KeyValue): SessionService {
  return new SessionService(kv, { cookieName: 'sg_session', idleTimeoutMinutes: IDLE_MINUTES, absoluteTimeoutHours: ABSOLUTE_HOURS }, clock, new CookieJar('http://localhost'));
}

/** Alice signs in with her password and a code in `browser`; returns the session. */
async function signedInWithCode(sessions: SessionService, browser: SessionBrowser): Promise<SsoSession> {
  const { session } = await sessions.start(browser.request(), browser.response(), ALICE, [{ method: 'pwd', at: now }]);
  return sessions.addFactor(session, { method: 'otp', at: now });
}

test('a re-authentication keeps the code as kept, with one password, the applications, and tells the replaced listeners', () =>
  withSessionStore(clock, async (kv) => {
    const sessions = sessionsOn(kv);
    const replaced: Array<[string, string]> = [];
    sessions.onReplaced(async (previous, next) => void replaced.push([previous.id, next.id]));
    const browser = new SessionBrowser();
    const first = await signedInWithCode(sessions, browser);
    await sessions.addParticipant(first, { protocol: 'saml', rpId: 'https://sp.example/', at: now });
    minutes(5);
    const { session } = await sessions.start(browser.request(), browser.response(), ALICE, [{ method: 'pwd', at: now }]);
    assert.deepEqual(methods(session), ['otp', 'pwd']);
    assert.deepEqual(session.keptFactors, ['otp']);
    assert.equal(session.factors.find((factor) => factor.method === 'pwd')?.at, now, 'the new password, not the old one');
    assert.deepEqual(session.participants.map((participant) => participant.rpId), ['https://sp.example/']);
    assert.deepEqual(replaced, [[first.id, session.id]]);
  }));

test('a code proved again after a re-authentication is no longer marked kept, and is there once', () =>
  withSessionStore(clock, async (kv) => {
    const sessions = sessionsOn(kv);
    const browser = new SessionBrowser();
    await signedInWithCode(sessions, browser);
    minutes(5);
    const { session } = await sessions.start(browser.request(), browser.response(), ALICE, [{ method: 'pwd', at: now }]);
    const proved = await sessions.addFactor(session, { method: 'otp', at: now });
    assert.equal(proved.keptFactors, undefined);
    assert.deepEqual(methods(proved), ['otp', 'pwd']);
    assert.equal(proved.factors.find((factor) => factor.method === 'otp')?.at, now);
  }));

test('a browser idled out keeps no code for whoever types the password next', () =>
  withSessionStore(clock, async (kv) => {
    const sessions = sessionsOn(kv);
    const browser = new SessionBrowser();
    await signedInWithCode(sessions, browser);
    minutes(IDLE_MINUTES + 1);
    const { session } = await sessions.start(browser.request(), browser.response(), ALICE, [{ method: 'pwd', at: now }]);
    assert.deepEqual(methods(session), ['pwd']);
    assert.equal(session.keptFactors, undefined);
  }));

test('another user signing in on the browser takes over neither the code nor the applications', () =>
  withSessionStore(clock, async (kv) => {
    const sessions = sessionsOn(kv);
    const browser = new SessionBrowser();
    const first = await signedInWithCode(sessions, browser);
    await sessions.addParticipant(first, { protocol: 'oidc', rpId: 'client-1', at: now });
    const { session, endedForAnotherUser } = await sessions.start(browser.request(), browser.response(), BOB, [{ method: 'pwd', at: now }]);
    assert.equal(endedForAnotherUser?.id, first.id);
    assert.deepEqual(methods(session), ['pwd']);
    assert.deepEqual(session.participants, []);
  }));

test('a kept code counts until exactly absoluteTimeoutHours after it was proved, and not after', () =>
  withSessionStore(clock, async (kv) => {
    const sessions = sessionsOn(kv);
    const browser = new SessionBrowser();
    await signedInWithCode(sessions, browser);
    const provedAt = now;
    for (let elapsed = 25; elapsed <= 100; elapsed += 25) {
      minutes(25);
      assert.ok(await sessions.current(browser.request()), `in use after ${elapsed} min`);
    }
    const { session } = await sessions.start(browser.request(), browser.response(), ALICE, [{ method: 'pwd', at: now }]);
    assert.deepEqual(session.keptFactors, ['otp']);
    for (let elapsed = 25; now + 25 * 60_000 < provedAt + ABSOLUTE_HOURS * 3_600_000; elapsed += 25) {
      minutes(25);
      assert.deepEqual(methods(await sessions.current(browser.request())), ['otp', 'pwd']);
    }
    now = provedAt + ABSOLUTE_HOURS * 3_600_000;
    assert.deepEqual(methods(await sessions.current(browser.request())), ['otp', 'pwd'], 'a read that moves the idle timeout on, at the very end');
    assert.deepEqual(methods(await sessions.current(browser.request())), ['otp', 'pwd'], 'a read that does not');
    now += 1;
    assert.deepEqual(methods(await sessions.current(browser.request())), ['pwd'], 'a read that does not move the idle timeout on');
    minutes(2);
    assert.deepEqual(methods(await sessions.current(browser.request())), ['pwd'], 'a read that does');
  }));

test('a re-authentication past absoluteTimeoutHours from a kept code starts without it: the session it hands the sign-in too', () =>
  withSessionStore(clock, async (kv) => {
    const sessions = sessionsOn(kv);
    const browser = new SessionBrowser();
    await signedInWithCode(sessions, browser);
    const provedAt = now;
    minutes(25);
    const { session: second } = await sessions.start(browser.request(), browser.response(), ALICE, [{ method: 'pwd', at: now }]);
    assert.deepEqual(second.keptFactors, ['otp']);
    while (now + 25 * 60_000 <= provedAt + ABSOLUTE_HOURS * 3_600_000) {
      minutes(25);
      assert.ok(await sessions.current(browser.request()), 'the browser keeps its session in use');
    }
    minutes(25);
    // The stored session still lists the code kept from the first one; the sign-in decides on what start returns.
    const { session: third } = await sessions.start(browser.request(), browser.response(), ALICE, [{ method: 'pwd', at: now }]);
    assert.deepEqual(methods(third), ['pwd']);
    assert.equal(third.keptFactors, undefined);
  }));
