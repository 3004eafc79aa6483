import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'ldapts';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { boot, TEST_FINISHER, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { PEOPLE, slapdDirectoryInput } from '../helpers/ldap-directory.ts';
import { ppolicyMarks } from '../helpers/ldap-admin.ts';
import type { StoredAuditEvent } from '../../src/store/store.ts';
import type { User } from '../../src/core/types.ts';

/**
 * The password change during sign-in works on the account the password step verified, by its id:
 * never on the entry its directory username leads to through users.filter, which can be another
 * person's (a uid holding `@`, which the lookup strips) or nobody's (a filter on mail).
 * All users must change their password (pwdReset), so the sign-in leads to the change form.
 */
const TEMPORARY = 'Welcome-2026-temp';
const NEW_PASSWORD = 'Mine-New-Passw0rd';
const CAROL_AT_CORP = { dn: `cn=carolupn,${PEOPLE}`, id: '7c4a0000-0000-4000-8000-00000000c0a1' };
const CAROL = { dn: `cn=carol,${PEOPLE}`, id: '7c4a0000-0000-4000-8000-00000000c0b2' };
const DAN_AT_CORP = { dn: `cn=danupn,${PEOPLE}`, id: '7c4a0000-0000-4000-8000-00000000d0a1' };
const DAN = { dn: `cn=dan,${PEOPLE}`, id: '7c4a0000-0000-4000-8000-00000000d0b2' };
const STRASSE = { dn: `cn=strasse,${PEOPLE}`, id: '7c4a0000-0000-4000-8000-00000000c0c3' };
const mustChange = (dn: string, id: string, uid: string, mail: string): string =>
  `dn: ${dn}\nobjectClass: inetOrgPerson\ncn: ${dn.slice(3, dn.indexOf(','))}\nsn: ${uid}\nuid: ${uid}\nmail: ${mail}\nentryUUID: ${id}\nuserPassword: ${TEMPORARY}\npwdReset: TRUE\n`;

let slapd: SlapdHandle;
/** Users sign in by uid or mail; one person's uid is another's with `@corp` (stripUpnSuffix on, the default). */
let byUidOrMail: Booted;
/** Users sign in by mail only; the username is still the uid. */
let byMail: Booted;

before(async () => {
  slapd = await startSlapd({
    ldif: [
      mustChange(CAROL_AT_CORP.dn, CAROL_AT_CORP.id, 'carol@corp', 'carol.a@example.org'),
      mustChange(CAROL.dn, CAROL.id, 'carol', 'carol.b@example.org'),
      mustChange(DAN_AT_CORP.dn, DAN_AT_CORP.id, 'dan@corp', 'dan.a@example.org'),
      mustChange(DAN.dn, DAN.id, 'dan', 'dan.b@example.org'),
      mustChange(STRASSE.dn, STRASSE.id, 'strasse', 'strasse@example.org'),
    ],
    monitor: false,
  });
  [byUidOrMail, byMail] = await Promise.all([
    boot({ directory: slapdDirectoryInput(slapd, { filter: '(&(objectClass=inetOrgPerson)(uid=<username>))', alternateLoginAttributes: ['mail'] }) }),
    boot({ directory: slapdDirectoryInput(slapd, { filter: '(&(objectClass=inetOrgPerson)(mail=<username>))', stripUpnSuffix: false }) }),
  ]);
});

after(async () => {
  await byUidOrMail?.close();
  await byMail?.close();
  await slapd?.stop();
});

/** The sign-in of `login` up to the change form; the transaction's id names its result in `app.finished`. */
async function changeForm(app: Booted, browser: TestBrowser, login: string): Promise<{ form: Page; txId: string }> {
  const tx = await app.services.interaction.deps.transactions.create({ protocol: 'oidc', rpId: 'change-app', rpName: 'Change App', rp: { allowPasswordChange: true }, handoff: { finisher: TEST_FINISHER, ref: '' }, forceAuthn: false, passive: false });
  const form = await browser.submit(await browser.get(`${app.url}/login/${tx.id}`), { username: login, password: TEMPORARY });
  assert.match(form.body, /name="newPassword"/, `the change form, got ${form.status} ${form.url}`);
  return { form, txId: tx.id };
}

/** The user the sign-in of transaction `txId` handed to the application; undefined when it handed none. */
function signedInUser(app: Booted, txId: string): User | undefined {
  const result = app.finished.get(txId);
  return result?.ok ? result.user : undefined;
}

async function lastChange(app: Booted): Promise<StoredAuditEvent> {
  return (await app.services.store.audit.query({ types: ['password.change'], limit: 1 })).events[0]!;
}

/** Whether slapd takes `password` for `dn` (asked as the user, not through Stepgate). */
async function binds(dn: string, password: string): Promise<boolean> {
  const client = new Client({ url: slapd.url });
  try {
    await client.bind(dn, password);
    return true;
  } catch {
    return false;
  } finally {
    await client.unbind();
  }
}

test("a uid holding @ next to another person's plain uid: the change is the signed-in entry's, and so is the sign-in after it", async () => {
  const browser = new TestBrowser();
  const { form, txId } = await changeForm(byUidOrMail, browser, 'carol.a@example.org');
  const page = await browser.submit(form, { currentPassword: TEMPORARY, newPassword: NEW_PASSWORD, confirmPassword: NEW_PASSWORD });
  assert.match(page.url, new RegExp(`/resume\\?tx=${txId}`), `signed in, got ${page.status} ${page.url}`);

  assert.equal(signedInUser(byUidOrMail, txId)?.id, CAROL_AT_CORP.id, 'signed in as the person who changed her password');
  assert.equal(signedInUser(byUidOrMail, txId)?.username, 'carol@corp');
  assert.equal(await binds(CAROL_AT_CORP.dn, NEW_PASSWORD), true, 'her own password changed');
  assert.equal(await binds(CAROL.dn, NEW_PASSWORD), false, "the other carol's password is not");
  assert.equal(await binds(CAROL.dn, TEMPORARY), true);
  const event = await lastChange(byUidOrMail);
  assert.deepEqual([event.outcome, event.userId, event.username], ['success', CAROL_AT_CORP.id, 'carol@corp']);
});

test("a wrong current password at the change form is a guess at the signed-in account, never at the other person's", async () => {
  const browser = new TestBrowser();
  const { form } = await changeForm(byUidOrMail, browser, 'dan.a@example.org');
  const page = await browser.submit(form, { currentPassword: 'not-the-password', newPassword: NEW_PASSWORD, confirmPassword: NEW_PASSWORD });
  assert.equal(page.status, 400);
  const event = await lastChange(byUidOrMail);
  assert.deepEqual([event.reason, event.userId], ['wrong-current', DAN_AT_CORP.id]);
  assert.equal((await ppolicyMarks(slapd, DAN_AT_CORP.dn)).failures, 1, 'counted by the directory on the signed-in entry');
  assert.equal((await ppolicyMarks(slapd, DAN.dn)).failures, 0, "not on the other person's");
});

test('users.filter on mail, the username the uid: the right current password changes the password and signs in', async () => {
  const browser = new TestBrowser();
  const { form, txId } = await changeForm(byMail, browser, 'strasse@example.org');
  const page = await browser.submit(form, { currentPassword: TEMPORARY, newPassword: NEW_PASSWORD, confirmPassword: NEW_PASSWORD });
  assert.match(page.url, new RegExp(`/resume\\?tx=${txId}`), `signed in, got ${page.status} ${page.url}`);
  assert.equal(signedInUser(byMail, txId)?.id, STRASSE.id);
  assert.equal(await binds(STRASSE.dn, NEW_PASSWORD), true);
  const event = await lastChange(byMail);
  assert.deepEqual([event.outcome, event.userId, event.username], ['success', STRASSE.id, 'strasse']);
});
