import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { TestSp, samlPostForm } from '../helpers/saml-sp.ts';

const PASSWORD = 'Correct-horse-42';
let app: Booted;
let sp: TestSp;
let officeSp: TestSp;
let userCount = 0;

/** A sign-in page of the SP, passed through the trusted proxy as coming from `ip`; the answer to the password. */
async function signInFrom(ip: string, username: string, password: string, to: TestSp = sp): Promise<Page> {
  const browser = new TestBrowser();
  const headers = { 'x-forwarded-for': ip };
  const request = await to.authnRequest();
  const page = await browser.get(request.url, { headers });
  return browser.submit(page, { username, password }, undefined, headers);
}

async function lastPasswordEvent(): Promise<Record<string, unknown>> {
  return (await app.services.store.audit.query({ types: ['login.password'], limit: 1 })).events[0]!;
}

/** Alice's sign-in at the office-only SP from `forwarded`: whether she got in, and the address audited. */
async function officeSignIn(forwarded: string): Promise<{ admitted: boolean; ip: unknown }> {
  const page = await signInFrom(forwarded, 'alice', PASSWORD, officeSp);
  const admitted = page.status === 200 && page.body.includes('SAMLResponse');
  assert.ok(admitted || page.status === 403, `${forwarded}: admitted or refused by the policy, not ${page.status}`);
  return { admitted, ip: (await lastPasswordEvent()).ip };
}

before(async () => {
  app = await boot({
    server: { trustedProxies: ['127.0.0.1/32'] },
    regulation: { maxFailuresPerIp: 3, maxFailuresPerUser: 100 },
    // The proxy's own address is inside a trusted network, as an internal reverse proxy's usually is.
    trustedNetworks: { lab: ['2001:db8:1::/48', '198.51.100.0/24'], office: ['127.0.0.0/8', '10.0.0.0/8'] },
  });
  await addLocalUser(app.services, 'alice', PASSWORD);
  const saved = await app.services.policies.save({ name: 'lab-only', rules: [{ when: { networks: ['lab'] }, then: { effect: 'permit' } }, { then: { effect: 'deny', message: 'Only from the lab.' } }] });
  assert.ok(saved.ok, JSON.stringify(saved));
  sp = await TestSp.create(app, { name: 'lab', register: { policy: 'lab-only' } });
  const office = await app.services.policies.save({ name: 'office-only', rules: [{ when: { networks: ['office'] }, then: { effect: 'permit' } }, { then: { effect: 'deny', message: 'Only from the office.' } }] });
  assert.ok(office.ok, JSON.stringify(office));
  officeSp = await TestSp.create(app, { name: 'office', register: { policy: 'office-only' } });
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
  // A /64 of its own: per-address limits count an IPv6 client by its /64, and the other tests fail passwords in 2001:db8::/64.
  for (const spelling of ['2001:db8:7::7', '2001:DB8:7::7', '2001:db8:7:0:0:0:0:7']) assert.equal((await signInFrom(spelling, `guess-${userCount++}`, 'wrong-password')).status, 401);
  const refused = await signInFrom('2001:0DB8:0007::0007', `guess-${userCount++}`, 'wrong-password');
  assert.equal(refused.status, 429, 'the fourth failure from the same address is over the limit of 3');
  assert.deepEqual([(await lastPasswordEvent()).reason, (await lastPasswordEvent()).ip], ['rate-limited-ip', '2001:db8:7::7']);
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


test('a forwarded address with a port, in brackets or in quotes is the client, port left out', async () => {
  for (const [forwarded, stored, admitted] of [
    ['203.0.113.9:5555', '203.0.113.9', false],
    ['[2001:db8::17]:443', '2001:db8::17', false],
    ['[2001:DB8::8]', '2001:db8::8', false],
    ['"203.0.113.10"', '203.0.113.10', false],
    ['"[2001:db8::9]:443"', '2001:db8::9', false],
    ['10.1.2.3:8443', '10.1.2.3', true],
  ] as const) {
    assert.deepEqual(await officeSignIn(forwarded), { admitted, ip: stored }, forwarded);
  }
});

test('a chain through two trusted proxies that write ports: the client is the first untrusted hop, not a proxy', async () => {
  assert.deepEqual(await officeSignIn('203.0.113.9:5555, 127.0.0.1:443'), { admitted: false, ip: '203.0.113.9' });
});

test('an unreadable forwarded address is unknown: outside every trusted network, never the proxy, logged with the proxy', async () => {
  for (const forwarded of ['unknown', '203.0.113.9, unknown', 'not-an-address', '[203.0.113.9]:80', '203.0.113.9:', '2001:db8::7]:443', '"203.0.113.9']) {
    const logged = app.logs.length;
    assert.deepEqual(await officeSignIn(forwarded), { admitted: false, ip: 'unknown' }, forwarded);
    const warning = app.logs.slice(logged).find((line) => line.code === 'FORWARDED_FOR_INVALID');
    assert.ok(warning, `${forwarded}: warned`);
    assert.equal(warning.proxy, '127.0.0.1');
  }
});

test('a trusted proxy that names no client (no X-Forwarded-For, or an empty one): the client is unknown, never the proxy inside the office, and it is logged', async () => {
  // 127.0.0.1 is the trusted proxy: a chain of nothing but it names no client either.
  for (const headers of [{}, { 'x-forwarded-for': '' }, { 'x-forwarded-for': '  ' }, { 'x-forwarded-for': '127.0.0.1' }, { 'x-forwarded-for': '127.0.0.1, 127.0.0.1' }] as Array<Record<string, string>>) {
    const logged = app.logs.length;
    const browser = new TestBrowser();
    const page = await browser.get((await officeSp.authnRequest()).url, { headers });
    const answer = await browser.submit(page, { username: 'alice', password: PASSWORD }, undefined, headers);
    assert.equal(answer.status, 403, `${JSON.stringify(headers)}: refused by the office-only policy, not admitted as the proxy`);
    assert.equal((await lastPasswordEvent()).ip, 'unknown');
    // Once a minute per proxy: the first request without one (the SP's metadata fetch, maybe) was warned about.
    assert.ok(app.logs.some((line) => line.code === 'FORWARDED_FOR_MISSING' && line.proxy === '127.0.0.1'), 'warned');
    assert.equal(app.logs.slice(logged).filter((line) => line.code === 'FORWARDED_FOR_MISSING').length, 0, 'not at every request');
  }
});

test('IPv4-compatible IPv6 (::10.1.2.3) is an IPv6 address, not 10.1.2.3; only the mapped form is IPv4', async () => {
  assert.deepEqual(await officeSignIn('::10.1.2.3'), { admitted: false, ip: '::a01:203' });
  assert.deepEqual(await officeSignIn('::a01:203'), { admitted: false, ip: '::a01:203' });
  assert.deepEqual(await officeSignIn('::ffff:10.1.2.3'), { admitted: true, ip: '10.1.2.3' });
});

// Last: it locks the unknown address's bucket.
test('unreadable forwarded addresses share one per-address limit: a new malformed value is no new bucket', async () => {
  for (const forwarded of ['garbage-1', 'garbage-2', 'garbage-3']) assert.equal((await signInFrom(forwarded, `guess-${userCount++}`, 'wrong-password')).status, 401);
  const refused = await signInFrom('garbage-4', `guess-${userCount++}`, 'wrong-password');
  assert.equal(refused.status, 429, 'the fourth failure from an unknown address is over the limit of 3');
  assert.deepEqual([(await lastPasswordEvent()).reason, (await lastPasswordEvent()).ip], ['rate-limited-ip', 'unknown']);
});
