import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { PEOPLE, personLdif, slapdDirectoryInput } from '../helpers/ldap-directory.ts';
import { ppolicyMarks } from '../helpers/ldap-admin.ts';

// The bad-input contract of the sign-in form for LDAP-injection usernames, typed with alice's real
// password: the generic refusal page, a log line naming the request, no session, and no bind against
// alice's entry (slapd's ppolicy would count a bind there as a failure).
const PASSWORD = 'Passw0rd!alice';
const ATTACKS = ['*)(uid=*', '*', 'alice)(|(uid=*', '\\00', 'alice\\00', 'alice\u0000', 'alice*', '(uid=alice)', 'al*ce', '*)(|(objectClass=*'];

let slapd: SlapdHandle;
let app: Booted;

before(async () => {
  slapd = await startSlapd({ ldif: [personLdif({ uid: 'alice', cn: 'Alice', sn: 'Smith', password: PASSWORD, entryUUID: '00000000-0000-4000-8000-0000000a11ce' })], monitor: false });
  app = await boot({ directory: slapdDirectoryInput(slapd), regulation: { maxFailuresPerUser: 1000, maxFailuresPerIp: 1000 } });
});
after(async () => {
  await app?.close();
  await slapd?.stop();
});

async function passwordPost(browser: TestBrowser, username: string) {
  const tx = await app.services.interaction.deps.transactions.create({ protocol: 'oidc', rpId: 'injection-app', rpName: 'Injection App', rp: { allowPasswordChange: false }, handoff: { finisher: 'test', ref: '' }, forceAuthn: false, passive: false });
  return browser.submit(await browser.get(`${app.url}/login/${tx.id}`), { username, password: PASSWORD });
}

test('LDAP-injection usernames with a real password: refused as unknown through the form, logged, no session, no bind on the entry', async () => {
  const sessionsBefore = await app.services.store.kv.count('sso-session');
  for (const username of ATTACKS) {
    const browser = new TestBrowser();
    const logsBefore = app.logs.length;
    const page = await passwordPost(browser, username);
    assert.equal(page.status, 401, username);
    assert.match(page.body, /Invalid username or password\./, username);
    assert.equal(browser.cookieHeader(app.url).includes('sg_session'), false, `${username}: no session cookie`);
    const refusal = app.logs.slice(logsBefore).find((line) => line['event'] === 'ldap.auth.refused');
    assert.ok(refusal, `${username}: a refusal log line`);
    assert.ok(['not-found', 'invalid-login'].includes(String(refusal['reason'])), `${username}: ${String(refusal['reason'])}`);
    assert.ok(typeof refusal['reqId'] === 'string' && app.logs.slice(logsBefore).some((line) => line['reqId'] === refusal['reqId'] && line['event'] !== 'ldap.auth.refused'), `${username}: the line names its request`);
  }
  assert.equal(await app.services.store.kv.count('sso-session'), sessionsBefore, 'no session written');
  assert.deepEqual(await ppolicyMarks(slapd, `uid=alice,${PEOPLE}`), { failures: 0, locked: false }, 'no bind reached alice');
  const page = await passwordPost(new TestBrowser(), 'alice');
  assert.notEqual(page.status, 401, 'control: alice herself signs in with the same password');
});
