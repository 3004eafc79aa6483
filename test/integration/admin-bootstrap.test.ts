import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { mintBootstrapSecretIfNeeded, redeemBootstrapSecret } from '../../src/admin/bootstrap.ts';
import { adminAccounts } from '../../src/admin/admin-accounts.ts';
import { request as loginRequest } from '../helpers/login-request.ts';
import { cliProcess } from '../helpers/cli.ts';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

async function wrongSecretEvents(app: Booted): Promise<number> {
  return (await app.services.store.audit.query({ types: ['admin.bootstrap'] })).events.filter((event) => event.reason === 'wrong-secret').length;
}

describe('first administrator bootstrap', () => {
  let app: Booted;
  let secret: string;

  before(async () => {
    app = await boot();
    secret = (await mintBootstrapSecretIfNeeded(app.services.store, Date.now()))!;
  });
  after(() => app.close());

  test('the secret is minted once, stored only as a hash', async () => {
    assert.equal(await mintBootstrapSecretIfNeeded(app.services.store, Date.now()), undefined);
    const { readFile } = await import('node:fs/promises');
    assert.doesNotMatch(await readFile(`${app.dataDir}/db.json`, 'utf8'), new RegExp(secret));
  });

  test('a wrong secret creates nothing; the right one creates the admin once', async () => {
    const browser = new TestBrowser();
    const form = await browser.get(`${app.url}/admin/bootstrap`);
    const values = { username: 'root-admin', password: 'Very-long-admin-pass-1', confirmPassword: 'Very-long-admin-pass-1' };
    const wrong = await browser.submit(form, { ...values, secret: 'guess' });
    assert.equal(wrong.status, 403);
    assert.equal((await adminAccounts(app.services.store).list()).length, 0);
    const weak = await browser.submit(form, { ...values, secret, password: 'short', confirmPassword: 'short' });
    assert.equal(weak.status, 400);
    assert.equal((await adminAccounts(app.services.store).list()).length, 0);
    const created = await browser.submit(form, { ...values, secret });
    assert.equal(created.status, 200);
    assert.match(created.body, /<h1>Administrator created<\/h1>\n<p role="status">/, 'a success: a status, not an alert');
    assert.equal((await adminAccounts(app.services.store).list()).length, 1);
    const again = await new TestBrowser().get(`${app.url}/admin/bootstrap`);
    assert.equal(again.status, 410);
  });
});

describe('a bootstrap form sent after the administrator exists', () => {
  let app: Booted;
  before(async () => {
    app = await boot();
  });
  after(() => app.close());

  test('is refused (410) and audited as a refusal, without the secret or password sent', async () => {
    const secret = (await mintBootstrapSecretIfNeeded(app.services.store, Date.now()))!;
    const values = { username: 'first-admin', password: 'Very-long-admin-pass-1', confirmPassword: 'Very-long-admin-pass-1' };
    const late = new TestBrowser();
    const lateForm = await late.get(`${app.url}/admin/bootstrap`);
    const first = new TestBrowser();
    assert.equal((await first.submit(await first.get(`${app.url}/admin/bootstrap`), { ...values, secret })).status, 200);
    const tried = { username: 'second-admin', password: 'Other-long-admin-pass-2', confirmPassword: 'Other-long-admin-pass-2', secret: 'a-guessed-bootstrap-secret' };
    const answer = await late.submit(lateForm, tried);
    assert.equal(answer.status, 410);
    assert.match(answer.body, /<h1>Already set up<\/h1>/);
    const { events } = await app.services.store.audit.query({ types: ['admin.bootstrap'] });
    assert.deepEqual(events.map((event) => [event.outcome, event.reason ?? null, event.username ?? null]), [['success', null, 'first-admin'], ['failure', 'admin-exists', null]]);
    assert.ok(events[1]!.requestId, 'the page\'s reference leads to it');
    const refusal = app.logs.find((line) => line['event'] === 'admin.bootstrap.refused');
    assert.equal(refusal?.['reason'], 'admin-exists');
    const written = JSON.stringify([events, app.logs]);
    for (const typed of [tried.secret, tried.password, secret]) assert.ok(!written.includes(typed), 'nothing typed into the form is written');
  });
});

describe('first administrator bootstrap under attack', () => {
  let app: Booted;
  let secret: string;
  const values = (username: string) => ({ username, password: 'Very-long-admin-pass-1', confirmPassword: 'Very-long-admin-pass-1' });

  before(async () => {
    app = await boot({ regulation: { maxFailuresPerUser: 3, maxFailuresPerIp: 1000, windowSeconds: 300, lockoutSeconds: 600 } });
    secret = (await mintBootstrapSecretIfNeeded(app.services.store, Date.now()))!;
  });
  after(() => app.close());

  test('failed sign-ins with the username admin-bootstrap do not lock the bootstrap page', async () => {
    const browser = new TestBrowser();
    const tx = await app.services.interaction.deps.transactions.create(loginRequest());
    const page = await browser.get(`${app.url}/login/${tx.id}`);
    for (const username of ['admin-bootstrap', 'ADMIN-BOOTSTRAP', 'corp\\admin-bootstrap', 's:admin-bootstrap']) {
      for (let i = 0; i < 3; i++) await browser.submit(page, { username, password: `wrong-${i}-password` });
    }
    assert.equal((await browser.submit(page, { username: 'admin-bootstrap', password: 'wrong-password' })).status, 429, 'that username is locked at sign-in');
    const form = await browser.get(`${app.url}/admin/bootstrap`);
    assert.equal((await browser.submit(form, { ...values('first'), secret: 'guess' })).status, 403, 'the bootstrap counts its own guesses');
  });

  test('the secret sent in eight requests at once creates exactly one administrator', async () => {
    const attempts = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const browser = new TestBrowser();
        const form = await browser.get(`${app.url}/admin/bootstrap`);
        return { browser, form, i };
      }),
    );
    const wrongBefore = await wrongSecretEvents(app);
    const answers = await Promise.all(attempts.map(({ browser, form, i }) => browser.submit(form, { ...values(`admin${i}`), secret })));
    assert.equal(answers.filter((page) => page.status === 200).length, 1, answers.map((page) => page.status).join(' '));
    assert.equal((await adminAccounts(app.services.store).list()).length, 1);
    // The right secret, used by another request of the same moment: not a guess, so neither counted nor audited as a wrong one.
    assert.deepEqual(answers.filter((page) => page.status !== 200).map((page) => page.status), Array(7).fill(410), answers.map((page) => page.status).join(' '));
    assert.equal(await wrongSecretEvents(app), wrongBefore, 'no wrong-secret event for the right secret');
  });
});

describe('a bootstrap that stopped between spending the secret and creating the administrator', () => {
  let app: Booted;

  before(async () => {
    app = await boot();
  });
  after(() => app.close());

  test('the spent secret sent again is answered "already used" with the way out (410), neither counted nor audited as a wrong guess', async () => {
    const secret = (await mintBootstrapSecretIfNeeded(app.services.store, Date.now()))!;
    // What a bootstrap leaves behind when it stops after the claim: the secret spent, no administrator.
    assert.equal(await redeemBootstrapSecret(app.services.store, secret, Date.now()), 'redeemed');
    const browser = new TestBrowser();
    const form = await browser.get(`${app.url}/admin/bootstrap`);
    const answer = await browser.submit(form, { username: 'late-admin', password: 'Very-long-admin-pass-1', confirmPassword: 'Very-long-admin-pass-1', secret });
    assert.equal(answer.status, 410);
    assert.match(answer.body, /<h1>Secret already used<\/h1>/);
    assert.match(answer.body, /admin bootstrap-secret/);
    assert.equal((await adminAccounts(app.services.store).list()).length, 0);
    assert.equal(await wrongSecretEvents(app), 0);
    const { events } = await app.services.store.audit.query({ types: ['admin.bootstrap'] });
    assert.deepEqual(events.map((event) => [event.outcome, event.reason]), [['failure', 'secret-spent']]);
  });
});

describe('a lost bootstrap secret', () => {
  const secretKey = randomBytes(32).toString('base64');
  let app: Booted;
  const values = { username: 'second-try', password: 'Very-long-admin-pass-1', confirmPassword: 'Very-long-admin-pass-1' };

  before(async () => {
    app = await boot({}, { secretKey });
  });
  after(() => app.close());

  test('the CLI issues a new one while no administrator exists; the old one stops working; none once one exists', async () => {
    const lost = (await mintBootstrapSecretIfNeeded(app.services.store, Date.now()))!;
    const issued = await cliProcess(app, secretKey, ['admin', 'bootstrap-secret']);
    assert.equal(issued.code, 0, issued.err);
    const fresh = /secret: (\S+)/.exec(issued.out)?.[1];
    assert.ok(fresh && fresh !== lost, issued.out);
    assert.match(issued.out, new RegExp(`at ${app.url}/admin/bootstrap$`, 'm'));

    // A running server re-reads the records the CLI writes within a second (lowdb-collections.ts).
    await sleep(1_100);
    const browser = new TestBrowser();
    const form = await browser.get(`${app.url}/admin/bootstrap`);
    assert.equal((await browser.submit(form, { ...values, secret: lost })).status, 403, 'the lost secret no longer works');
    const created = await browser.submit(form, { ...values, secret: fresh });
    assert.equal(created.status, 200, 'the running server takes the new one');
    assert.equal((await adminAccounts(app.services.store).list()).length, 1);

    const refused = await cliProcess(app, secretKey, ['admin', 'bootstrap-secret']);
    assert.deepEqual([refused.code, refused.out], [1, '']);
    assert.match(refused.err, /An administrator exists already/);
    const { events } = await app.services.store.audit.query({ types: ['admin.bootstrap-secret'] });
    assert.equal(events.length, 1, 'the reissue is audited, the refusal changes nothing');
  });
});

describe('bootstrap guesses count per client address', () => {
  const secretKey = randomBytes(32).toString('base64');
  let app: Booted;
  const values = { username: 'first-admin', password: 'Very-long-admin-pass-1', confirmPassword: 'Very-long-admin-pass-1' };
  const from = (ip: string) => ({ 'x-forwarded-for': ip });

  before(async () => {
    // Behind a trusted proxy (the test itself), so a request can come from any address.
    app = await boot({ server: { trustedProxies: ['127.0.0.1/32'] }, regulation: { maxFailuresPerUser: 3, maxFailuresPerIp: 1000, windowSeconds: 300, lockoutSeconds: 600 } }, { secretKey });
    await mintBootstrapSecretIfNeeded(app.services.store, Date.now());
  });
  after(() => app.close());

  test('wrong secrets lock out only their own address (an IPv6 client: its /64); a new secret from the CLI clears the count', async () => {
    const browser = new TestBrowser();
    const form = await browser.get(`${app.url}/admin/bootstrap`);
    for (const ip of ['2001:db8:66:1::1', '2001:db8:66:1::2', '2001:db8:66:1:abcd::3']) assert.equal((await browser.submit(form, { ...values, secret: 'guess' }, undefined, from(ip))).status, 403, ip);
    assert.equal((await browser.submit(form, { ...values, secret: 'guess' }, undefined, from('2001:db8:66:1::99'))).status, 429, 'that /64 is locked out');
    assert.equal((await browser.submit(form, { ...values, secret: 'guess' }, undefined, from('198.51.100.7'))).status, 403, 'another client still has its secret checked');

    const issued = await cliProcess(app, secretKey, ['admin', 'bootstrap-secret']);
    assert.equal(issued.code, 0, issued.err);
    const fresh = /secret: (\S+)/.exec(issued.out)![1]!;
    // A running server reads the records and the counts the CLI writes within a second.
    await sleep(1_100);
    const created = await browser.submit(form, { ...values, secret: fresh }, undefined, from('2001:db8:66:1::99'));
    assert.equal(created.status, 200, 'the new secret is not held back by the guesses at the old one');
  });
});
