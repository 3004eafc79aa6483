import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { createUser } from '../helpers/oidc-rp.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';

const PASSWORD = 'correct horse 42';
const OFFICE = { 'x-forwarded-for': '10.1.2.3' };
let now = Date.now();
const clock = { now: () => now };
let app: Booted;
let secret: string;

const backupCodesOn = (page: Page) => [...page.body.matchAll(/<li><code>([a-z2-7-]+)<\/code>/g)].map((match) => match[1]!);

/** Signed in at "My security" from the office, where its policy asks no code: the password alone. */
async function signedInWithPasswordOnly(): Promise<TestBrowser> {
  const browser = new TestBrowser();
  const home = await browser.submit(await browser.get(`${app.url}/account/security`, { headers: OFFICE }), { username: 'ines', password: PASSWORD }, undefined, OFFICE);
  assert.match(home.body, /<dd id="totp-status">Active<\/dd>/, 'the account policy let the password alone in');
  return browser;
}

before(async () => {
  // An account policy that asks no code from the office, as the default policy of many installations does.
  app = await boot({ server: { trustedProxies: ['127.0.0.1/32'] }, trustedNetworks: { office: ['10.0.0.0/8'] }, policies: { account: 'permit-everyone-require-mfa-outside-trusted-networks' } }, { clock });
  const id = await createUser(app, { username: 'ines', password: PASSWORD });
  const user = (await app.services.directory.findUserById(id))!;
  const view = await app.services.mfa.totp.enrollment.begin({ user, sessionId: 'her-phone' });
  secret = view.secret;
  assert.ok((await app.services.mfa.totp.enrollment.finish({ user, sessionId: 'her-phone', ip: '10.0.0.1' }, oathtoolTotp(secret, now))).ok);
});
after(() => app?.close());

test('new backup codes need a second factor proved in this sign-in, whatever the account policy asks: the password alone makes none', async () => {
  const browser = await signedInWithPasswordOnly();
  const asked = await browser.get(`${app.url}/account/security/backup-codes/new`, { headers: OFFICE });
  assert.match(asked.body, /Enter your code/, 'a code from the app (or a backup code) is asked first');
  assert.doesNotMatch(asked.body, /name="confirm"/);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(asked.body)![1]!;
  const posted = await browser.request(`${app.url}/account/security/backup-codes`, { method: 'POST', body: new URLSearchParams({ _csrf: csrf, confirm: 'yes' }), headers: OFFICE });
  assert.deepEqual(backupCodesOn(posted), [], 'posting the confirmation straight away makes none either');

  now += 30_000;
  const made = await browser.submit(await browser.submit(asked, { code: oathtoolTotp(secret, now) }, undefined, OFFICE), {}, '/backup-codes', OFFICE);
  assert.equal(backupCodesOn(made).length, 10, 'with the code, the new codes are made');
});
