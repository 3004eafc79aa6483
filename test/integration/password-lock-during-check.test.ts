import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { request } from '../helpers/login-request.ts';

/**
 * An account's lock asked again once its password was checked: wrong passwords under its other names
 * may lock it while this one is being checked. A right password then gets the lock's answer, as a
 * wrong one does, so the answer does not tell which it was, and no session starts.
 */
const PASSWORD = 'Correct-horse-42';
const LIMIT = 3;
let app: Booted;

before(async () => {
  app = await boot({ directory: { kind: 'local' }, regulation: { maxFailuresPerUser: LIMIT } });
  await addLocalUser(app.services, 'alice', PASSWORD);
});
after(() => app?.close());

test('a right password whose account was locked while it was checked is answered with the lock, and signs nobody in', async () => {
  const { directory, regulator } = app.services;
  const original = directory.authenticate;
  const authenticate = original.bind(directory) as (...args: unknown[]) => Promise<{ ok: true; user: { id: string } } | { ok: false }>;
  directory.authenticate = (async (...args: unknown[]) => {
    const outcome = await authenticate(...args);
    // Meanwhile: wrong passwords at the same account under other names, from other clients, reach its limit.
    if (outcome.ok) {
      for (let i = 0; i < LIMIT; i++) {
        const guess = await regulator.admit({ login: `alice-alias-${i}` }, `198.51.100.${i + 1}`);
        assert.ok(guess.allowed);
        await guess.attempt.failed(outcome.user.id);
      }
    }
    return outcome;
  }) as typeof directory.authenticate;
  try {
    const browser = new TestBrowser();
    const tx = await app.services.interaction.deps.transactions.create(request());
    const answer = await browser.submit(await browser.get(`${app.url}/login/${tx.id}`), { username: 'alice', password: PASSWORD });
    assert.equal(answer.status, 429);
    assert.match(answer.body, /Too many failed attempts/);
    assert.equal(app.finished.get(tx.id), undefined);
    assert.equal(browser.cookieHeader(app.url).includes('sg_session'), false, 'no session');
  } finally {
    directory.authenticate = original;
  }
});
