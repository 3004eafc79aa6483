import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { PEOPLE, personLdif, slapdDirectoryInput, withDirectory } from '../helpers/ldap-directory.ts';
import { ldapDirectorySchema } from '../../src/directory/ldap-config.ts';
import { ppolicyMarks as ppolicyMarksOf } from '../helpers/ldap-admin.ts';

// slapd locks an entry after 3 wrong passwords (ppolicy pwdMaxFailure 3), Stepgate after 2, below it
// as the README asks. Once Stepgate has locked an account, no guess may reach slapd any more, whatever
// spelling or other login name it is typed as: slapd's lock would stop the user everywhere.
const pw = (uid: string): string => `Passw0rd!${uid}`;
const ids: Record<string, string> = {
  alice: '00000000-0000-4000-8000-0000000a11ce',
  bob: '00000000-0000-4000-8000-000000000b0b',
  carol: '00000000-0000-4000-8000-0000000ca201',
};
const person = (uid: string): string => personLdif({ uid, cn: uid, sn: uid, password: pw(uid), mail: `${uid}.smith@example.org`, entryUUID: ids[uid] });

let slapd: SlapdHandle;
let app: Booted;

before(async () => {
  slapd = await startSlapd({ ldif: Object.keys(ids).map(person), monitor: false });
  app = await boot({ directory: slapdDirectoryInput(slapd, { alternateLoginAttributes: ['mail'] }), regulation: { maxFailuresPerUser: 2, maxFailuresPerIp: 1000 } });
});
after(async () => {
  await app?.close();
  await slapd?.stop();
});

/** One password POST on a fresh sign-in page (no familiar-device cookie); the page's status. */
async function signIn(username: string, password: string): Promise<number> {
  const browser = new TestBrowser();
  const tx = await app.services.interaction.deps.transactions.create({ protocol: 'oidc', rpId: 'lock-app', rpName: 'Lock App', rp: { allowPasswordChange: false }, handoff: { finisher: 'test', ref: '' }, forceAuthn: false, passive: false });
  return (await browser.submit(await browser.get(`${app.url}/login/${tx.id}`), { username, password })).status;
}

/** What slapd's ppolicy holds against a user's entry. */
function ppolicyMarks(uid: string): Promise<{ failures: number; locked: boolean }> {
  return ppolicyMarksOf(slapd, `uid=${uid},${PEOPLE}`);
}

async function passwordEvents(userId: string): Promise<Array<[unknown, unknown]>> {
  const { events } = await app.services.store.audit.query({ types: ['login.password'], user: userId });
  return events.map((event) => [event.username, event.reason]);
}

test("the tester's sequence: spellings with a backslash after the @ meet alice's lock, and slapd never locks her", async () => {
  const sequence: Array<[string, number]> = [
    ['alice', 401],
    ['alice', 401],
    ['alice', 429],
    ['alice@x\\1', 429],
    ['alice@x\\2', 429],
    ['alice@x\\3', 429],
    ['alice@x\\4', 429],
  ];
  for (const [username, status] of sequence) assert.equal(await signIn(username, 'wrong-guess'), status, username);
  assert.equal(await signIn('alice@x\\5', pw('alice')), 429, 'the right password too, while Stepgate holds the lock');
  assert.deepEqual(await ppolicyMarks('alice'), { failures: 2, locked: false }, 'slapd saw the 2 guesses Stepgate counted, and holds no lock');
  const refused = app.logs.filter((line) => line['event'] === 'ldap.auth.refused' && String(line['login']).startsWith('alice'));
  assert.equal(refused.length, 2, 'two binds as alice, no more');
});

test('another login name of a locked account (its email): refused before the bind, as the account\'s lock, with the right password too', async () => {
  assert.equal(await signIn('bob', 'wrong-guess-1'), 401);
  assert.equal(await signIn('bob', 'wrong-guess-2'), 401);
  for (const username of ['bob.smith@example.org', 'BOB.SMITH@example.org', 'bob.smith@example.org']) assert.equal(await signIn(username, 'wrong-guess-3'), 429, username);
  assert.equal(await signIn('bob.smith@example.org', pw('bob')), 429);
  assert.deepEqual(await ppolicyMarks('bob'), { failures: 2, locked: false });
  assert.deepEqual(await passwordEvents(ids.bob!), [
    ['bob', 'invalid-credentials'],
    ['bob', 'invalid-credentials'],
    ['bob.smith@example.org', 'rate-limited-account'],
    ['BOB.SMITH@example.org', 'rate-limited-account'],
    ['bob.smith@example.org', 'rate-limited-account'],
    ['bob.smith@example.org', 'rate-limited-account'],
  ]);
  const notAdmitted = app.logs.filter((line) => line['event'] === 'ldap.auth.not-admitted' && /^bob/i.test(String(line['login'])));
  assert.equal(notAdmitted.length, 4, 'each of them logged as refused before the bind');
  assert.ok(!JSON.stringify(app.logs).includes(pw('bob')), 'passwords are never logged');
});

test('LdapDirectory asks admitAccount with the entry id between the search and the bind; an unknown login does not ask it', async () => {
  const config = ldapDirectorySchema.parse(slapdDirectoryInput(slapd, { alternateLoginAttributes: ['mail'], idAttribute: 'entryUUID' }));
  await withDirectory(config, async (directory) => {
    const asked: string[] = [];
    const refuse = async (accountId: string) => (asked.push(accountId), { locked: true });
    assert.deepEqual(await directory.authenticate('CORP\\carol', 'wrong-guess', undefined, { admitAccount: refuse }), { ok: false, reason: 'not-admitted', accountId: ids.carol, refusal: { locked: true } });
    assert.deepEqual(await directory.authenticate('nobody', 'wrong-guess', undefined, { admitAccount: refuse }), { ok: false, reason: 'invalid-credentials' });
    assert.deepEqual(asked, [ids.carol]);
    assert.deepEqual(await ppolicyMarks('carol'), { failures: 0, locked: false }, 'no bind reached carol');

    const admitted = await directory.authenticate('carol', pw('carol'), undefined, { admitAccount: async () => undefined });
    assert.equal(admitted.ok && admitted.user.id, ids.carol, 'admitted: the sign-in goes on');
    await assert.rejects(directory.authenticate('carol', pw('carol'), undefined, { admitAccount: () => Promise.reject(new Error('store down')) }), /store down/, "the caller's own failure is not the directory's");
  });
});
