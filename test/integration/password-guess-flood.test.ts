import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { ERROR_CATALOGUE } from '../../src/core/errors.ts';
import { PASSWORD_DERIVATIONS, hashPassword, verifyPassword } from '../../src/directory/password-hash.ts';

/**
 * A flood of password guesses at the local directory (each one an scrypt run) is bounded: beyond a
 * few seconds of work, guesses are answered "busy" at once, and what else needs the thread pool
 * (the journal, /readyz) and real sign-ins still get through.
 */
const PASSWORD = 'Correct-horse-42';
const BUSY = ERROR_CATALOGUE.SIGN_IN_BUSY.message;
let app: Booted;

/** The password form of a fresh sign-in (a transaction of its own, as each guess of a flood has). */
async function passwordForm(): Promise<{ browser: TestBrowser; page: Page; txId: string }> {
  const browser = new TestBrowser();
  const tx = await app.services.interaction.deps.transactions.create({ protocol: 'oidc', rpId: 'flood-app', rpName: 'Flood App', rp: { allowPasswordChange: false }, handoff: { finisher: 'test', ref: '' }, forceAuthn: false, passive: false });
  return { browser, page: await browser.get(`${app.url}/login/${tx.id}`), txId: tx.id };
}

/** One password POST from `ip` (the server trusts the loopback proxy): 'signed-in', 'busy', or the status. */
async function postPassword(username: string, password: string, ip = '192.0.2.200'): Promise<'signed-in' | 'busy' | number> {
  const { browser, page, txId } = await passwordForm();
  const answer = await browser.submit(page, { username, password }, undefined, { 'x-forwarded-for': ip });
  if (answer.url.includes(`/resume?tx=${txId}`)) return 'signed-in';
  if (answer.status === 503 && answer.body.includes(BUSY)) return 'busy';
  return answer.status;
}

before(async () => {
  app = await boot({ server: { trustedProxies: ['127.0.0.1/32'] }, directory: { kind: 'local' }, regulation: { maxFailuresPerUser: 2 } });
  await addLocalUser(app.services, 'alice', PASSWORD);
  await addLocalUser(app.services, 'bob', PASSWORD);
});
after(() => app?.close());

test('a guess flood from many addresses: the excess is answered busy at once, /readyz stays ready and a real sign-in gets through', async () => {
  const forms = await Promise.all(Array.from({ length: 150 }, () => passwordForm()));
  let floodDone = false;
  const flood = Promise.all(
    forms.map(async ({ browser, page }, index) => {
      const answer = await browser.submit(page, { username: `nobody-${index}`, password: `wrong-${index}` }, undefined, { 'x-forwarded-for': `198.51.100.${index % 50}` });
      return answer.status === 503 && answer.body.includes(BUSY) ? 'busy' : answer.status;
    }),
  ).finally(() => (floodDone = true));

  const probes: number[] = [];
  const probing = (async () => {
    while (!floodDone) {
      probes.push((await fetch(`${app.url}/readyz`)).status);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  const aliceAnswers: Array<string | number> = [];
  while (aliceAnswers.at(-1) !== 'signed-in' && aliceAnswers.length < 100) {
    aliceAnswers.push(await postPassword('alice', PASSWORD));
    if (aliceAnswers.at(-1) === 'busy') await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const answers = await flood;
  await probing;

  assert.equal(aliceAnswers.at(-1), 'signed-in', `alice's sign-in completes; her answers: ${aliceAnswers.join(', ')}`);
  assert.ok(aliceAnswers.slice(0, -1).every((answer) => answer === 'busy'), `before that, only "busy": ${aliceAnswers.join(', ')}`);
  const busy = answers.filter((answer) => answer === 'busy').length;
  assert.ok(busy > 0, 'guesses beyond the bound are answered "busy"');
  assert.equal(answers.filter((answer) => answer === 401).length, answers.length - busy, 'every other guess was checked and failed');
  assert.ok(probes.length > 0, '/readyz was asked during the flood');
  assert.deepEqual(probes, probes.map(() => 200), '/readyz stays ready throughout');
});

test('a guess answered busy is not a failed guess, for a known and an unknown user alike', async () => {
  const hash = await hashPassword('something-else-1');
  const filling = Array.from({ length: PASSWORD_DERIVATIONS.maxRunning + PASSWORD_DERIVATIONS.maxWaiting }, () => verifyPassword('wrong', hash));
  const whileFull: Array<string | number> = [];
  // More wrong guesses at bob than maxFailuresPerUser (2): counted, they would lock him.
  for (const password of ['wrong-1', 'wrong-2', 'wrong-3']) whileFull.push(await postPassword('bob', password));
  whileFull.push(await postPassword('nobody', 'wrong-4'));
  await Promise.all(filling);
  assert.deepEqual(whileFull, ['busy', 'busy', 'busy', 'busy']);
  assert.equal(await postPassword('bob', PASSWORD), 'signed-in', 'bob is not locked');
});
