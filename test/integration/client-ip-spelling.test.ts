import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { TestSp, samlPostForm } from '../helpers/saml-sp.ts';

const PASSWORD = 'Correct-horse-42';
let app: Booted;
let sp: TestSp;
let userCount = 0;

/** A sign-in page of the SP, passed through the trusted proxy as coming from `ip`; the answer to the password. */
async function signInFrom(ip: string, username: string, password: string): Promise<Page> {
  const browser = new TestBrowser();
  const headers = { 'x-forwarded-for': ip };
  const request = await sp.authnRequest();
  const page = await browser.get(request.url, { headers });
  return browser.submit(page, { username, password }, undefined, headers);
}

async function lastPasswordEvent(): Promise<Record<string, unknown>> {
  return (await app.services.store.audit.query({ types: ['login.password'], limit: 1 })).events[0]!;
}

before(async () => {
  app = await boot({
    server: { trustedProxies: ['127.0.0.1/32'] },
    regulation: { maxFailuresPerIp: 3, maxFailuresPerUser: 100 },
    trustedNetworks: { lab: ['2001:db8:1::/48', '198.51.100.0/24'] },
  });
  await addLocalUser(app.services, 'alice', PASSWORD);
  const saved = await app.services.policies.save({ name: 'lab-only', rules: [{ when: { networks: ['lab'] }, then: { effect: 'permit' } }, { then: { effect: 'deny', message: 'Only from the lab.' } }] });
  assert.ok(saved.ok, JSON.stringify(saved));
  sp = await TestSp.create(app, { name: 'lab', register: { policy: 'lab-only' } });
});
after(() => app?.close());

test('the client IP is stored in one spelling: IPv6 compressed lower case, IPv4-mapped as IPv4, no zone', async () => {
  for (const [forwarded, stored] of [
    ['2001:DB8:0:0::1', '2001:db8::1'],
    ['::FFFF:203.0.113.10', '203.0.113.10'],
    ['::ffff:cb00:710b', '203.0.113.11'],
    ['fe80::1%eth0', 'fe80::1'],
    ['203.0.113.12', '203.0.113.12'],
  ]) {
    assert.equal((await signInFrom(forwarded!, `nobody-${userCount++}`, 'wrong-password')).status, 401);
    assert.equal((await lastPasswordEvent()).ip, stored, `${forwarded} is stored as ${stored}`);
  }
});

test('the per-address limit counts one client under all its spellings', async () => {
  for (const spelling of ['2001:db8::7', '2001:DB8::7', '2001:db8:0:0:0:0:0:7']) assert.equal((await signInFrom(spelling, `guess-${userCount++}`, 'wrong-password')).status, 401);
  const refused = await signInFrom('2001:0DB8:0000::0007', `guess-${userCount++}`, 'wrong-password');
  assert.equal(refused.status, 429, 'the fourth failure from the same address is over the limit of 3');
  assert.deepEqual([(await lastPasswordEvent()).reason, (await lastPasswordEvent()).ip], ['rate-limited-ip', '2001:db8::7']);
});

test('policy networks see the address as before: a mapped IPv4 and an upper-case IPv6 in the lab range are admitted', async () => {
  for (const ip of ['::ffff:198.51.100.5', '2001:DB8:1::5']) {
    const page = await signInFrom(ip, 'alice', PASSWORD);
    assert.ok(samlPostForm(page).fields.SAMLResponse, `admitted from ${ip}`);
    const [success] = (await app.services.store.audit.query({ types: ['saml.sso'], outcome: 'success', limit: 1 })).events;
    assert.equal(success!.ip, ip === '::ffff:198.51.100.5' ? '198.51.100.5' : '2001:db8:1::5');
  }
  const outside = await signInFrom('2001:DB8:2::5', 'alice', PASSWORD);
  assert.equal(outside.status, 403, 'outside the lab: denied');
});

