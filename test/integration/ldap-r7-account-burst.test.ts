import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'ldapts';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { LdapFaultRelay } from '../helpers/ldap-fault-relay.ts';
import { PEOPLE, personLdif, slapdDirectoryInput } from '../helpers/ldap-directory.ts';
import { ppolicyMarks as ppolicyMarksOf } from '../helpers/ldap-admin.ts';

// slapd locks an entry after 3 wrong passwords (ppolicy pwdMaxFailure 3), Stepgate after 2, below it
// as the README asks. Guesses sent at the same moment under every login name of one account (its uid,
// its mail, DOMAIN\uid, uid@suffix) must not reach slapd more than 2 times either: each name has 2
// places of its own, so without a limit on the account 2 names let 4 binds through, and slapd locked
// the user out of everything. The relay holds slapd's answers to user binds where a test needs the
// guesses to be in flight together.
const pw = (uid: string): string => `Passw0rd!${uid}`;
const ids: Record<string, string> = {
  gina: '00000000-0000-4000-8000-00000009a1a0',
  hana: '00000000-0000-4000-8000-0000000ea1a0',
  ivan: '00000000-0000-4000-8000-00000001fa00',
  jule: '00000000-0000-4000-8000-0000000ab1e0',
};
const person = (uid: string): string => personLdif({ uid, cn: uid, sn: uid, password: pw(uid), mail: `${uid}.smith@example.org`, entryUUID: ids[uid] });
const BUSY = /Too many sign-in attempts at the same moment/;

let slapd: SlapdHandle;
let relay: LdapFaultRelay;
let app: Booted;

before(async () => {
  // jule must change her password (ppolicy pwdReset): her right password ends as an account state.
  const ldif = Object.keys(ids).map((uid) => (uid === 'jule' ? `${person(uid)}pwdReset: TRUE\n` : person(uid)));
  slapd = await startSlapd({ ldif });
  relay = await LdapFaultRelay.to(slapd.port, slapd.serviceDn);
  const directory = { ...slapdDirectoryInput(slapd, { alternateLoginAttributes: ['mail'] }), urls: [relay.url] };
  app = await boot({ directory, regulation: { maxFailuresPerUser: 2, maxFailuresPerIp: 1000 } });
});
after(async () => {
  await app?.close();
  await relay?.close();
  await slapd?.stop();
});

/** A fresh sign-in page (no familiar-device cookie) and the function that posts its password form. */
async function signInPage(): Promise<(username: string, password: string) => Promise<Page>> {
  const browser = new TestBrowser();
  const tx = await app.services.interaction.deps.transactions.create({ protocol: 'oidc', rpId: 'burst-app', rpName: 'Burst App', rp: { allowPasswordChange: false }, handoff: { finisher: 'test', ref: '' }, forceAuthn: false, passive: false });
  const page = await browser.get(`${app.url}/login/${tx.id}`);
  return (username, password) => browser.submit(page, { username, password });
}

async function signIn(username: string, password: string): Promise<Page> {
  return (await signInPage())(username, password);
}

/** What slapd's ppolicy holds against a user's entry. */
function ppolicyMarks(uid: string): Promise<{ failures: number; locked: boolean }> {
  return ppolicyMarksOf(slapd, `uid=${uid},${PEOPLE}`);
}

/** The account's password events: the reason of each failure, `success` for a sign-in. */
async function passwordReasons(userId: string): Promise<unknown[]> {
  const { events } = await app.services.store.audit.query({ types: ['login.password'], user: userId });
  return events.map((event) => (event.outcome === 'success' ? 'success' : event.reason));
}

/** slapd's connections bound as the user (cn=Monitor): binds slapd took, whose answers the relay may still hold. */
async function connectionsBoundAs(uid: string): Promise<number> {
  const client = new Client({ url: slapd.url });
  try {
    await client.bind(slapd.rootDn, slapd.rootPassword);
    const { searchEntries } = await client.search('cn=Connections,cn=Monitor', { scope: 'one', attributes: ['monitorConnectionAuthzDN'] });
    return searchEntries.filter((entry) => String(entry['monitorConnectionAuthzDN']).toLowerCase() === `uid=${uid},${PEOPLE}`).length;
  } finally {
    await client.unbind();
  }
}

/** Binds the directory refused for the user: the wrong passwords slapd was sent. */
function refusedBinds(uid: string): number {
  return app.logs.filter((line) => line['event'] === 'ldap.auth.refused' && String(line['dn']).startsWith(`uid=${uid},`)).length;
}

test('12 wrong passwords at once under the username, the email and DOMAIN\\ forms: slapd is sent 2, and never locks the account', async () => {
  const names = ['gina', 'gina', 'gina', 'gina.smith@example.org', 'gina.smith@example.org', 'gina.smith@example.org', 'GINA.SMITH@example.org', 'CORP\\gina', 'CORP\\gina', 'gina@x\\1', 'gina@x\\2', 'Gina'];
  // Held answers keep the first binds in flight while every other guess is admitted or refused.
  relay.mode = { kind: 'hold-user-bind-responses', ms: 500 };
  try {
    const posts = await Promise.all(names.map(() => signInPage()));
    const statuses = (await Promise.all(names.map((name, i) => posts[i]!(name, 'wrong-guess')))).map((page) => page.status);
    assert.deepEqual(statuses.toSorted(), [401, 401, ...Array<number>(10).fill(429)], `statuses in order of names: ${statuses.join(' ')}`);
  } finally {
    relay.mode = { kind: 'pass' };
  }
  assert.equal(refusedBinds('gina'), 2, 'two binds as gina, no more');
  assert.deepEqual(await ppolicyMarks('gina'), { failures: 2, locked: false });
  const reasons = await passwordReasons(ids.gina!);
  assert.equal(reasons.filter((reason) => reason === 'invalid-credentials').length, 2);
  assert.ok(reasons.length > 2 && reasons.every((reason) => reason === 'invalid-credentials' || reason === 'rate-limited-account'), `the others the account refused before their bind (the names refused the rest): ${reasons.join(' ')}`);

  assert.equal((await signIn('gina.smith@example.org', pw('gina'))).status, 429, "the right password meets Stepgate's lock on the account");
  assert.deepEqual(await ppolicyMarks('gina'), { failures: 2, locked: false }, 'and slapd still holds no lock');
});

test("a right password while the account's places are full is told to wait a moment: no lock, nothing counted, and it signs in right after", async () => {
  relay.mode = { kind: 'hold-user-bind-responses', ms: 1500 };
  // Two sign-ins under two names (each name has room for one more) fill the account's two places.
  const inFlight = Promise.all(['hana', 'hana.smith@example.org'].map((name) => signIn(name, pw('hana'))));
  try {
    await until(async () => (await connectionsBoundAs('hana')) === 2);
    const meanwhile = await signIn('HANA', pw('hana'));
    assert.equal(meanwhile.status, 429);
    assert.match(meanwhile.body, BUSY);
    const hanaCounts = (await app.services.store.kv.entries('regulation')).filter(([key]) => key.includes('hana') || key.includes(ids.hana!));
    assert.deepEqual(hanaCounts, [], 'it counted nowhere: no failure stored, no lock');
  } finally {
    relay.mode = { kind: 'pass' };
  }
  await inFlight;
  assert.deepEqual(await passwordReasons(ids.hana!), ['rate-limited-account', 'success', 'success'], 'the two in flight signed in');
  await signIn('HANA', pw('hana'));
  assert.equal((await passwordReasons(ids.hana!)).at(-1), 'success', 'once they ended, the places are free again');
  assert.deepEqual(await ppolicyMarks('hana'), { failures: 0, locked: false });
});

test('a sign-in gives its place on the account back however it ends: directory unavailable, an account state', async () => {
  relay.mode = { kind: 'answer-user-binds', resultCode: 51 };
  try {
    for (const name of ['ivan', 'ivan.smith@example.org', 'CORP\\ivan']) assert.equal((await signIn(name, pw('ivan'))).status, 503, name);
  } finally {
    relay.mode = { kind: 'pass' };
  }
  assert.equal((await signIn('ivan.smith@example.org', 'wrong-guess')).status, 401, 'the account still has its places');
  for (const name of ['jule', 'jule.smith@example.org', 'CORP\\jule']) assert.doesNotMatch((await signIn(name, pw('jule'))).body, BUSY, name);
  assert.deepEqual(await passwordReasons(ids.jule!), ['account-must-change', 'account-must-change', 'account-must-change']);
});

/** Polls a condition every 20 ms for up to 3 s. */
async function until(condition: () => Promise<boolean>): Promise<void> {
  for (let waited = 0; !(await condition()); waited += 20) {
    assert.ok(waited < 3000, 'timed out waiting');
    await sleep(20);
  }
}
