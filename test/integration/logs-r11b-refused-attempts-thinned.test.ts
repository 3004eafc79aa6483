import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, parseForms } from '../helpers/browser.ts';
import { createUser } from '../helpers/oidc-rp.ts';
import { request as loginRequest } from '../helpers/login-request.ts';
import { WARNINGS_PER_KIND } from '../../src/http/warning-budget.ts';

/**
 * A lock refuses a sign-in without checking a password, so each refusal costs a script nothing: its
 * warnings go through the server's WarningBudget, or 250 requests wrote 250 warnings. The first
 * lines of a kind in a minute are written in full; the rest are counted, and the count is written
 * when the minute ends.
 */

const PASSWORD = 'correct horse 42';
let now = Date.parse('2026-11-22T10:00:15Z');
const clock = { now: () => now };
let app: Booted;

before(async () => {
  app = await boot({ regulation: { maxFailuresPerUser: 2, maxFailuresPerIp: 10_000, lockoutSeconds: 900 } }, { clock });
});
after(() => app?.close());

test('250 sign-ins refused by a lock write the first warnings of the minute, then one line with the count of the rest', async () => {
  await createUser(app, { username: 'ivan', password: PASSWORD });
  const browser = new TestBrowser();
  const tx = await app.services.interaction.deps.transactions.create(loginRequest());
  const form = parseForms((await browser.get(`${app.url}/login/${tx.id}`)).body, `${app.url}/login/${tx.id}`)[0]!;
  /** One password POST on the same sign-in page; the request id of its answer. */
  const send = async (password: string) => {
    const answer = await browser.request(form.action, { method: 'POST', body: new URLSearchParams({ ...form.fields, username: 'ivan', password }), followRedirects: false });
    assert.equal(answer.status, 303);
    return answer.headers.get('x-request-id')!;
  };
  await send('wrong-password-1');
  await send('wrong-password-2');
  const mark = app.logs.length;
  for (let i = 0; i < 250; i++) await send(PASSWORD);

  const refusals = app.logs.slice(mark).filter((line) => line.event === 'login.password.refused');
  const reasons = new Set(refusals.map((line) => line.reason));
  assert.equal(reasons.size, 1, `one kind of refusal: ${[...reasons].join(', ')}`);
  const [reason] = reasons;
  assert.match(String(reason), /^rate-limited-/);
  assert.equal(refusals.length, WARNINGS_PER_KIND, 'the first warnings of the minute, in full');
  assert.ok(refusals.every((line) => line.level === 40 && line.login === 'ivan'));
  assert.deepEqual(app.logs.filter((line) => line.event === 'log.warnings-suppressed'), [], 'the count is written when the minute ends');

  now += 60_000;
  const next = await send(PASSWORD);
  const kind = `login.password.refused ${String(reason)}`;
  const summaries = app.logs.filter((line) => line.event === 'log.warnings-suppressed');
  assert.deepEqual(
    summaries.map(({ level, warning, written, suppressed }) => ({ level, warning, written, suppressed })),
    [{ level: 40, warning: kind, written: WARNINGS_PER_KIND, suppressed: 250 - WARNINGS_PER_KIND }],
  );
  assert.equal(app.logs.filter((line) => line.event === 'login.password.refused' && line.reqId === next).length, 1, 'a new minute writes in full again');
});
