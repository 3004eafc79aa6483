import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';

const PASSWORD = 'Correct-horse-42';
const REPLACE = '/account/security/totp/replace';
const OFFICE = { 'x-forwarded-for': '10.9.9.7' };
const OUTSIDE = { 'x-forwarded-for': '203.0.113.7' };
let app: Booted;

before(async () => {
  app = await boot({ server: { trustedProxies: ['127.0.0.1/32'] }, trustedNetworks: { office: ['10.9.9.0/24'] }, mfa: { enrollment: { networks: ['office'] } } });
});
after(() => app?.close());

/** Signs `username` (who has an app with `secret`) in to "My security" from `headers`, password and code. */
async function signedIn(username: string, secret: string, headers: Record<string, string>, at: number): Promise<TestBrowser> {
  const browser = new TestBrowser();
  const login = await browser.get(`${app.url}/account/security`, { headers });
  const codePage = await browser.submit(login, { username, password: PASSWORD }, undefined, headers);
  const settings = await browser.submit(codePage, { code: oathtoolTotp(secret, at) }, undefined, headers);
  assert.match(settings.body, /<h1>My security settings<\/h1>/, `${settings.status} ${settings.url}`);
  return browser;
}

test('moving the app to a new phone is held to mfa.enrollment.networks, as a first setup is: a phished password and code from outside cannot take the second factor over', async () => {
  await addLocalUser(app.services, 'vic', PASSWORD);
  const user = (await app.services.directory.findUser('vic'))!;
  const view = await app.services.mfa.totp.enrollment.begin({ user, sessionId: 'setup' });
  assert.ok((await app.services.mfa.totp.enrollment.finish({ user, sessionId: 'setup', ip: '10.9.9.7' }, oathtoolTotp(view.secret, Date.now() - 30_000))).ok);

  const registered = await app.services.mfa.enrollments.get(user.id);
  const outside = await signedIn('vic', view.secret, OUTSIDE, Date.now());
  const page = await outside.get(`${app.url}${REPLACE}`, { headers: OUTSIDE });
  assert.equal(page.status, 403);
  assert.doesNotMatch(page.body, /totp-secret/, 'no new secret shown');
  // This browser's form token, from a page of it that has a form.
  const csrf = /name="_csrf" value="([^"]+)"/.exec((await outside.get(`${app.url}/account/security/backup-codes/new`, { headers: OUTSIDE })).body)![1]!;
  const posted = await outside.request(`${app.url}${REPLACE}`, { method: 'POST', body: new URLSearchParams({ _csrf: csrf, code: '123456' }), headers: OUTSIDE });
  assert.equal(posted.status, 403);
  const { events } = await app.services.store.audit.query({ types: ['mfa.replace'], user: 'vic' });
  assert.deepEqual(events.map((event) => [event.outcome, event.reason]), [['failure', 'outside-enrollment-networks'], ['failure', 'outside-enrollment-networks']]);
  assert.deepEqual(await app.services.mfa.enrollments.get(user.id), registered, 'the registration is untouched');

  // A code of the next time step: the one used outside cannot be used again (within the allowed skew).
  const inside = await signedIn('vic', view.secret, OFFICE, Date.now() + 30_000);
  assert.match((await inside.get(`${app.url}${REPLACE}`, { headers: OFFICE })).body, /totp-secret/, 'from the office the move is offered');
});
