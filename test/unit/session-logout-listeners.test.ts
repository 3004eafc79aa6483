import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Request, Response } from 'express';
import { JournalKeyValue } from '../../src/store/journal-kv.ts';
import { testSealer } from '../helpers/journal-sealer.ts';
import { SessionService } from '../../src/session/session-service.ts';
import type { SsoSession } from '../../src/session/sso-session.ts';
import { CookieJar } from '../../src/http/cookies.ts';
import { systemClock } from '../../src/core/clock.ts';
import type { User } from '../../src/core/types.ts';

const ALICE = { id: 'alice-id', username: 'alice', groups: [], attributes: {} } as unknown as User;
const BOB = { id: 'bob-id', username: 'bob', groups: [], attributes: {} } as unknown as User;

/** Just enough of Express for SessionService: the cookie header in, Set-Cookie out, and a request logger. */
function browser() {
  let cookie = '';
  const errors: Array<Record<string, unknown>> = [];
  const req = () => ({ headers: { cookie }, log: { error: (facts: Record<string, unknown>) => errors.push(facts) } }) as unknown as Request;
  const res = () =>
    ({
      append: (_name: string, value: string) => {
        const [pair] = value.split(';');
        if (!/=$/.test(pair!)) cookie = pair!;
      },
    }) as unknown as Response;
  return { req, res, errors };
}

async function withSessions(run: (sessions: SessionService) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-session-'));
  const kv = new JournalKeyValue(join(dir, 'kv.journal'), systemClock, { sealer: testSealer() });
  await kv.open();
  try {
    await run(new SessionService(kv, { cookieName: 'sg_session', idleTimeoutMinutes: 30, absoluteTimeoutHours: 10 }, systemClock, new CookieJar('http://localhost')));
  } finally {
    await kv.close();
    await rm(dir, { recursive: true, force: true });
  }
}

test('a logout tells every listener the ended session; a failing listener is logged and does not stop the logout or the others', () =>
  withSessions(async (sessions) => {
    const told: Array<[string, SsoSession]> = [];
    sessions.onLogout(async () => {
      throw new Error('relying party exploded');
    });
    sessions.onLogout(async (ended) => void told.push(['second', ended]));
    const b = browser();
    const started = (await sessions.start(b.req(), b.res(), ALICE, [])).session;
    const ended = await sessions.end(b.req(), b.res(), 'sso-logout');
    assert.equal(ended?.id, started.id);
    assert.deepEqual(told.map(([name, session]) => [name, session.id, session.user.id]), [['second', started.id, 'alice-id']]);
    assert.equal(await sessions.byId(started.id), undefined, 'the session is gone');
    assert.equal(b.errors.length, 1);
    assert.equal((b.errors[0]!.err as Error).message, 'relying party exploded');
    assert.equal(JSON.stringify(b.errors).includes(started.id), false, 'the session id (a cookie value) is not logged');
    assert.equal(await sessions.end(b.req(), b.res(), 'sso-logout'), undefined);
    assert.equal(told.length, 1, 'no session, nobody told');
  }));

test('a re-authentication of the same user replaces the session without a logout: nobody is told', () =>
  withSessions(async (sessions) => {
    let told = 0;
    sessions.onLogout(async () => void told++);
    const b = browser();
    const first = (await sessions.start(b.req(), b.res(), ALICE, [])).session;
    const second = (await sessions.start(b.req(), b.res(), ALICE, [])).session;
    assert.notEqual(first.id, second.id);
    assert.equal(await sessions.byId(first.id), undefined);
    assert.equal(told, 0);
  }));

test('another person signing in on the same browser ends the previous user\'s sign-in as a logout', () =>
  withSessions(async (sessions) => {
    const told: string[] = [];
    sessions.onLogout(async (ended) => void told.push(ended.user.id));
    const b = browser();
    const first = (await sessions.start(b.req(), b.res(), ALICE, [])).session;
    const second = (await sessions.start(b.req(), b.res(), BOB, [])).session;
    assert.equal(await sessions.byId(first.id), undefined);
    assert.equal((await sessions.byId(second.id))?.user.id, 'bob-id');
    assert.deepEqual(told, ['alice-id']);
  }));

test('a change made from a copy read before a logout never brings the ended session back', () =>
  withSessions(async (sessions) => {
    const b = browser();
    const started = (await sessions.start(b.req(), b.res(), ALICE, [{ method: 'pwd', at: Date.now() }])).session;
    // A code check read the session, then the user signed out while it waited for the answer.
    const copy = structuredClone(started);
    await sessions.end(b.req(), b.res(), 'sso-logout');
    await assert.rejects(sessions.addFactor(copy, { method: 'otp', at: Date.now() }), (error: Error & { code?: string }) => error.code === 'TRANSACTION_UNKNOWN');
    await assert.rejects(sessions.addParticipant(copy, { protocol: 'saml', rpId: 'https://sp.example', at: Date.now() }));
    await assert.rejects(sessions.replaceUser(copy, { ...ALICE, groups: ['admins'] }));
    assert.equal(await sessions.peek(started.id), undefined, 'the ended session stays ended');
  }));

test('changes of one session made from stale copies all stay: each applies to the current value', () =>
  withSessions(async (sessions) => {
    const b = browser();
    const started = (await sessions.start(b.req(), b.res(), ALICE, [{ method: 'pwd', at: Date.now() }])).session;
    const stale = structuredClone(started);
    await sessions.addParticipant(started, { protocol: 'saml', rpId: 'https://one.example', at: Date.now() });
    await sessions.addParticipant(stale, { protocol: 'saml', rpId: 'https://two.example', at: Date.now() });
    await sessions.addFactor(stale, { method: 'otp', at: Date.now() });
    const now = (await sessions.peek(started.id))!;
    assert.deepEqual(now.participants.map((p) => p.rpId).sort(), ['https://one.example', 'https://two.example']);
    assert.deepEqual(now.factors.map((f) => f.method), ['pwd', 'otp']);
  }));
