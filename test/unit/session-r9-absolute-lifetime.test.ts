import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Request, Response } from 'express';
import type { KeyValue } from '../../src/store/store.ts';
import { withSessionStore } from '../helpers/session-browser.ts';
import { SessionService } from '../../src/session/session-service.ts';
import type { SsoSession } from '../../src/session/sso-session.ts';
import { CookieJar } from '../../src/http/cookies.ts';
import type { User } from '../../src/core/types.ts';

/**
 * The absolute lifetime is enforced twice, and each must hold by itself: SessionService refuses a
 * session older than absoluteTimeoutHours however recently it was used, and it stores every session
 * with a TTL ending at that same time, so the store drops it then. The integration test
 * (sso-r9-absolute-lifetime.test.ts) sees both together; here each is checked without the other.
 */
const ALICE = { id: 'alice-id', username: 'alice', groups: [], attributes: {} } as unknown as User;
const ABSOLUTE_HOURS = 2;
const SESSION_NAMESPACE = 'sso-session';
let now = Date.parse('2026-11-22T08:00:00Z');
const clock = { now: () => now };
const minutes = (count: number) => void (now += count * 60_000);

const request = () => ({ headers: { cookie: '' }, log: { error: () => undefined } }) as unknown as Request;
const response = () => ({ append: () => undefined }) as unknown as Response;

/** The same store with its expiry taken away: every write is kept whatever TTL it asked for. */
function keepingEverything(kv: KeyValue): KeyValue {
  return {
    get: (namespace, key) => kv.get(namespace, key),
    set: (namespace, key, value) => kv.set(namespace, key, value),
    delete: (namespace, key) => kv.delete(namespace, key),
    consume: (namespace, key) => kv.consume(namespace, key),
    compareAndSet: (namespace, key, expected, next) => kv.compareAndSet(namespace, key, expected, next),
    entries: (namespace) => kv.entries(namespace),
    count: (namespace) => kv.count(namespace),
  };
}

function sessionsOn(kv: KeyValue): SessionService {
  return new SessionService(kv, { cookieName: 'sg_session', idleTimeoutMinutes: 30, absoluteTimeoutHours: ABSOLUTE_HOURS }, clock, new CookieJar('http://localhost'));
}

/** Starts a session and has its browser use it every 25 minutes until a minute before its absolute end. */
async function usedUntilJustBeforeTheEnd(sessions: SessionService): Promise<SsoSession> {
  const started = (await sessions.start(request(), response(), ALICE, [{ method: 'pwd', at: now }])).session;
  for (let elapsed = 25; elapsed < ABSOLUTE_HOURS * 60; elapsed += 25) {
    minutes(25);
    assert.ok(await sessions.byId(started.id), `the browser's use ${elapsed} min after the sign-in finds the session`);
  }
  now = started.createdAt + ABSOLUTE_HOURS * 3_600_000 - 60_000;
  assert.ok(await sessions.byId(started.id), 'a minute before the absolute end the session stands');
  return started;
}

test("SessionService ends a session in use at absoluteTimeoutHours by its own check, even where the store would keep it", () =>
  withSessionStore(clock, async (kv) => {
    const sessions = sessionsOn(keepingEverything(kv));
    const started = await usedUntilJustBeforeTheEnd(sessions);
    minutes(2); // a minute past the end; the browser's last use two minutes ago
    assert.ok(await kv.get(SESSION_NAMESPACE, started.id), 'this store still holds it (no TTL reached it)');
    assert.equal(await sessions.peek(started.id), undefined, "not for a client's back end");
    assert.deepEqual(await sessions.live(), [], 'not in the administrator\'s list');
    assert.equal(await sessions.byId(started.id), undefined, 'not for the browser');
  }));

test('the store drops a session in use at its absolute end: the TTL SessionService writes ends there, however recent the last write', () =>
  withSessionStore(clock, async (kv) => {
    const started = await usedUntilJustBeforeTheEnd(sessionsOn(kv));
    assert.ok(await kv.get(SESSION_NAMESPACE, started.id), 'stored a minute before the end');
    minutes(2);
    assert.equal(await kv.get(SESSION_NAMESPACE, started.id), undefined, 'a minute past the end the store no longer has it');
    assert.deepEqual(await kv.entries(SESSION_NAMESPACE), []);
  }));
