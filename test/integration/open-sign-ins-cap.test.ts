import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { authRequest, callbackOf, createRp, createUser, isPasswordPage, redeem, rpBrowser, stored } from '../helpers/oidc-rp.ts';
import { TestSp } from '../helpers/saml-sp.ts';
import { request } from '../helpers/login-request.ts';
import { MAX_OPEN_SIGN_INS } from '../../src/login/transaction.ts';

const PASSWORD = 'Correct-horse-42';
let now = Date.parse('2026-11-23T10:00:00Z');
const clock = { now: () => now };
let app: Booted;

before(async () => {
  // Flooded from many addresses: one address's limit is not what is tested here.
  app = await boot({ regulation: { signInStartsPerIpPerMinute: 100_000 } }, { clock });
  await createUser(app, { username: 'alice', password: PASSWORD });
});
after(() => app?.close());

const openTransactions = () => app.services.store.kv.count('login-tx');

test('beyond MAX_OPEN_SIGN_INS open sign-ins, a start gets a 503 "busy" page and keeps nothing; a sign-in already under way finishes; starts are taken again once the unused ones ended', async () => {
  const { transactions } = app.services.interaction.deps;
  const rp = await createRp(app);
  const sp = await TestSp.create(app, { name: 'capped', signRequests: false });
  const alice = rpBrowser();
  const aliceRequest = await authRequest(rp);
  const passwordPage = await alice.get(aliceRequest.url.toString());
  assert.ok(isPasswordPage(passwordPage), 'a real user opened a sign-in before the flood');

  while (transactions.hasRoom()) await Promise.all(Array.from({ length: 1000 }, () => transactions.create(request())));
  assert.ok((await openTransactions()) >= MAX_OPEN_SIGN_INS, 'filled to the cap');
  const held = { tx: await openTransactions(), interactions: await stored(app, 'Interaction'), pending: await app.services.store.kv.count('saml-pending') };

  const oidcStart = await rpBrowser().get((await authRequest(rp)).url.toString());
  assert.equal(oidcStart.status, 503);
  assert.match(oidcStart.body, /The sign-in service is busy; try again in a moment\./);
  const samlStart = await new TestBrowser().get(`${app.url}/saml/idp-init?sp=${encodeURIComponent(sp.entityId)}`);
  assert.equal(samlStart.status, 503);
  assert.deepEqual(
    { tx: await openTransactions(), interactions: await stored(app, 'Interaction'), pending: await app.services.store.kv.count('saml-pending') },
    held,
    'a refused start keeps no transaction, no oidc-provider interaction, no pending SAML sign-in',
  );
  assert.ok(app.logs.some((line) => line.code === 'SIGN_IN_BUSY' && (line.detail as { reason?: string }).reason === 'open-sign-ins-full'));

  const tokens = await redeem(rp, aliceRequest, callbackOf(rp, await alice.submit(passwordPage, { username: 'alice', password: PASSWORD })));
  assert.equal(tokens.claims()?.preferred_username, 'alice', 'the sign-in under way was not pushed out by the flood');

  now += 5 * 60_000;
  const later = await rpBrowser().get((await authRequest(rp)).url.toString());
  assert.ok(isPasswordPage(later), `the flood's sign-ins, never used, ended after 5 minutes and made room, got ${later.status}`);
});

test('a transaction nothing used since its start ends after 5 minutes, a used one after 15; afterwards only the application and browser are remembered, for an hour from the start', async () => {
  const { transactions } = app.services.interaction.deps;
  const unused = await transactions.create(request({ rpName: 'Payroll' }), 'binding-a');
  const used = await transactions.create(request({ rpName: 'Wiki' }), 'binding-b');
  now += 4 * 60_000;
  assert.ok(await transactions.get(used.id), 'used (a password posted, a page loaded)');

  now += 60_000;
  assert.equal(await transactions.get(unused.id), undefined);
  assert.equal(await app.services.store.kv.get('login-tx', unused.id), undefined, 'forgotten, not only unusable');
  assert.deepEqual(await transactions.expired(unused.id), { request: { rpId: 'test-app', rpName: 'Payroll' }, browserBinding: 'binding-a' });
  assert.ok(await transactions.get(used.id));
  assert.equal(await transactions.expired(used.id), undefined, 'still open');

  now += 10 * 60_000;
  assert.equal(await transactions.get(used.id), undefined);
  assert.equal(await app.services.store.kv.get('login-tx', used.id), undefined);
  assert.equal((await transactions.expired(used.id))?.request.rpName, 'Wiki');

  now += 45 * 60_000;
  assert.equal(await transactions.expired(unused.id), undefined, 'an hour after its start nothing is left');
  assert.equal(await transactions.expired(used.id), undefined);
});

test('a finished sign-in is remembered as finished (whom it signed in), not as an expired one, and cannot be used again', async () => {
  const { transactions } = app.services.interaction.deps;
  const tx = await transactions.create(request(), 'binding-c');
  const consumed = await transactions.consume(tx.id);
  assert.ok(consumed);
  assert.equal(await transactions.consume(tx.id), undefined, 'finished once');
  await transactions.finishedAs(consumed, { userId: 'user-1' });
  now += 20 * 60_000;
  assert.deepEqual(await transactions.expired(tx.id), { request: { rpId: 'test-app', rpName: 'Test App' }, browserBinding: 'binding-c', finished: { userId: 'user-1' } });
  assert.equal(await transactions.get(tx.id), undefined);
});
