import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Request, Response } from 'express';
import { JournalKeyValue } from '../../src/store/journal-kv.ts';
import { testSealer } from '../helpers/journal-sealer.ts';
import { until } from '../helpers/until.ts';
import { SessionService } from '../../src/session/session-service.ts';
import { AdminLogouts } from '../../src/session/admin-logouts.ts';
import { CookieJar } from '../../src/http/cookies.ts';
import { systemClock } from '../../src/core/clock.ts';
import type { Logger } from '../../src/core/log.ts';
import type { User } from '../../src/core/types.ts';
import type { SsoSession } from '../../src/session/sso-session.ts';

const user = (name: string) => ({ id: `${name}-id`, username: name, groups: [], attributes: {} }) as unknown as User;
const request = () => ({ headers: { cookie: '' }, log: { error: () => undefined } }) as unknown as Request;
const response = () => ({ append: () => undefined }) as unknown as Response;

test('a notice whose logout never finishes is logged after the limit and does not hold back the next ones', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-admin-logouts-'));
  const kv = new JournalKeyValue(join(dir, 'kv.journal'), systemClock, { sealer: testSealer() });
  await kv.open();
  try {
    const sessions = new SessionService(kv, { cookieName: 'sg_session', idleTimeoutMinutes: 30, absoluteTimeoutHours: 10 }, systemClock, new CookieJar('http://localhost'));
    const stuck = (await sessions.start(request(), response(), user('stuck'), [])).session;
    const fine = (await sessions.start(request(), response(), user('fine'), [])).session;
    const told: string[] = [];
    // A relying party's notification, or a store call, that never returns.
    sessions.onLogout((ended) => (ended.id === stuck.id ? new Promise<void>(() => undefined) : (told.push(ended.user.username), Promise.resolve())));
    const errors: Array<Record<string, unknown>> = [];
    const log = { error: (facts: Record<string, unknown>) => errors.push(facts) } as unknown as Logger;

    const logouts = new AdminLogouts(kv, sessions, { noticeLimitMs: 200 });
    await logouts.end([stuck, fine]);
    assert.equal(await logouts.deliver({ log, trigger: 'admin' }), 1);
    assert.deepEqual(told, ['fine'], 'the session after the stuck one is ended and its applications told');
    assert.deepEqual(errors.map((facts) => facts.code), ['ADMIN_LOGOUT_STALLED']);

    const later = (await sessions.start(request(), response(), user('later'), [])).session;
    await logouts.end([later]);
    assert.equal(await logouts.deliver({ log, trigger: 'admin' }), 1, 'later notices go through too');
    assert.deepEqual(told, ['fine', 'later']);
  } finally {
    await kv.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('every session of a pass ends before any application is told: a slow application holds back no session from ending', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-admin-logouts-'));
  const kv = new JournalKeyValue(join(dir, 'kv.journal'), systemClock, { sealer: testSealer() });
  await kv.open();
  try {
    const sessions = new SessionService(kv, { cookieName: 'sg_session', idleTimeoutMinutes: 30, absoluteTimeoutHours: 10 }, systemClock, new CookieJar('http://localhost'));
    const started: SsoSession[] = [];
    for (let i = 0; i < 40; i++) started.push((await sessions.start(request(), response(), user(`user${i}`), [])).session);
    const stillLiveWhenTold: number[] = [];
    // Each application answers slowly; by the time the first is told, no session of the pass may still work.
    sessions.onLogout(async () => {
      const live = await Promise.all(started.map((session) => sessions.byId(session.id)));
      stillLiveWhenTold.push(live.filter(Boolean).length);
      await new Promise((resolve) => setTimeout(resolve, 20));
    });
    const log = { error: () => undefined } as unknown as Logger;
    const logouts = new AdminLogouts(kv, sessions);
    await logouts.end(started);
    assert.equal(await logouts.deliver({ log, trigger: 'admin' }), 40);
    assert.equal(stillLiveWhenTold.length, 40);
    assert.deepEqual([...new Set(stillLiveWhenTold)], [0], 'no session was still live when the first application was told');
  } finally {
    await kv.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a pass still telling the applications of earlier sessions does not hold back later notices from ending their sessions', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-admin-logouts-'));
  const kv = new JournalKeyValue(join(dir, 'kv.journal'), systemClock, { sealer: testSealer() });
  await kv.open();
  try {
    const sessions = new SessionService(kv, { cookieName: 'sg_session', idleTimeoutMinutes: 30, absoluteTimeoutHours: 10 }, systemClock, new CookieJar('http://localhost'));
    const first = (await sessions.start(request(), response(), user('first'), [])).session;
    let answer: () => void = () => undefined;
    // A back-channel endpoint that takes its time (each Logout Token may take 2.5 s, 16 sessions at a time).
    const slow = new Promise<void>((resolve) => (answer = resolve));
    const told: string[] = [];
    sessions.onLogout(async (ended) => {
      if (ended.id === first.id) await slow;
      told.push(ended.user.username);
    });
    const log = { error: () => undefined } as unknown as Logger;
    const logouts = new AdminLogouts(kv, sessions);
    await logouts.end([first]);
    const firstPass = logouts.deliver({ log, trigger: 'admin' });
    await until(() => sessions.byId(first.id), (session) => session === undefined, 'the first pass to end its session');

    // A second `session end` while the first one's applications are still being told.
    const later = (await sessions.start(request(), response(), user('later'), [])).session;
    await logouts.end([later]);
    assert.equal(await logouts.deliver({ log, trigger: 'admin' }), 1, 'the next poll ends it and tells its applications');
    assert.equal(await sessions.byId(later.id), undefined, 'the later session ended while the earlier pass was still under way');
    assert.deepEqual(told, ['later']);

    answer();
    assert.equal(await firstPass, 1);
    assert.deepEqual(told, ['later', 'first']);
  } finally {
    await kv.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a notice for a session the same user re-authenticated in since ends the session that replaced it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-admin-logouts-'));
  const kv = new JournalKeyValue(join(dir, 'kv.journal'), systemClock, { sealer: testSealer() });
  await kv.open();
  try {
    const sessions = new SessionService(kv, { cookieName: 'sg_session', idleTimeoutMinutes: 30, absoluteTimeoutHours: 10 }, systemClock, new CookieJar('http://localhost'));
    const logouts = new AdminLogouts(kv, sessions);
    const told: string[] = [];
    sessions.onLogout(async (ended) => void told.push(ended.id));
    const alice = user('alice');
    const listed = (await sessions.start(request(), response(), alice, [{ method: 'otp', at: systemClock.now() }])).session;
    // `mfa reset alice` lists the session; before the server's next poll, alice signs in again in that browser (prompt=login).
    await logouts.end([listed]);
    const inBrowser = { headers: { cookie: `sg_session=${listed.id}` }, log: { error: () => undefined } } as unknown as Request;
    const { session: replacement } = await sessions.start(inBrowser, response(), alice, [{ method: 'pwd', at: systemClock.now() }]);
    assert.deepEqual(replacement.factors.map((factor) => factor.method), ['pwd', 'otp'], 'the new session keeps the second factor');

    const log = { error: () => undefined } as unknown as Logger;
    assert.equal(await logouts.deliver({ log, trigger: 'admin' }), 1);
    assert.equal(await sessions.byId(replacement.id), undefined, 'the session that replaced the listed one ended');
    assert.deepEqual(told, [replacement.id], 'its applications were told once');
  } finally {
    await kv.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a notice taken while a re-authentication has removed the session it names and not yet saved the new one goes on to the new one', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-admin-logouts-'));
  const kv = new JournalKeyValue(join(dir, 'kv.journal'), systemClock, { sealer: testSealer() });
  await kv.open();
  try {
    // The sessions' store holds the write of the new session until the poll has run.
    let saving: Promise<void> | undefined;
    let held: () => void = () => undefined;
    const reached = new Promise<void>((resolve) => (held = resolve));
    const set = async (...args: Parameters<JournalKeyValue['set']>) => {
      if (saving) {
        held();
        await saving;
      }
      return kv.set(...args);
    };
    const sessionsKv = new Proxy(kv, {
      get: (target, name) => {
        if (name === 'set') return set;
        const value: unknown = Reflect.get(target, name, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const sessions = new SessionService(sessionsKv, { cookieName: 'sg_session', idleTimeoutMinutes: 30, absoluteTimeoutHours: 10 }, systemClock, new CookieJar('http://localhost'));
    const logouts = new AdminLogouts(kv, sessions);
    const alice = user('alice');
    const listed = (await sessions.start(request(), response(), alice, [{ method: 'otp', at: systemClock.now() }])).session;
    await logouts.end([listed]);

    let save: () => void = () => undefined;
    saving = new Promise<void>((resolve) => (save = resolve));
    const inBrowser = { headers: { cookie: `sg_session=${listed.id}` }, log: { error: () => undefined } } as unknown as Request;
    const reauthentication = sessions.start(inBrowser, response(), alice, [{ method: 'pwd', at: systemClock.now() }]);
    await reached;
    const log = { error: () => undefined } as unknown as Logger;
    assert.equal(await logouts.deliver({ log, trigger: 'admin' }), 0, 'the poll finds neither session');
    saving = undefined;
    save();
    const { session: replacement } = await reauthentication;
    assert.deepEqual(replacement.factors.map((factor) => factor.method), ['pwd', 'otp']);

    assert.equal(await logouts.deliver({ log, trigger: 'admin' }), 1, 'the next poll ends the replacement');
    assert.equal(await sessions.byId(replacement.id), undefined);
  } finally {
    await kv.close();
    await rm(dir, { recursive: true, force: true });
  }
});
