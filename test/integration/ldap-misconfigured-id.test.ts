import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { fixtureLdif } from '../helpers/ldap-directory.ts';
import { boot, TEST_FINISHER, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { ERROR_CATALOGUE } from '../../src/core/errors.ts';

/**
 * A users.idAttribute the entries do not have is a configuration error, not an outage: the user is
 * told sign-in is misconfigured (ask the helpdesk, no "try again in a few minutes"), the log names the
 * setting to fix.
 */
let slapd: SlapdHandle;
let app: Booted;

before(async () => {
  slapd = await startSlapd({ ldif: await fixtureLdif() });
  app = await boot({ directory: { kind: 'ldap', urls: [slapd.url], bind: { dn: slapd.serviceDn, password: slapd.servicePassword }, users: { baseDn: 'ou=people,dc=example,dc=org', idAttribute: 'employeeNumber' } } });
});

after(async () => {
  await app?.close();
  await slapd?.stop();
});

test('an entry without users.idAttribute: "sign-in is misconfigured" for the user, the setting named in the log', async () => {
  const tx = await app.services.interaction.deps.transactions.create({ protocol: 'oidc', rpId: 'app', rpName: 'App', rp: { allowPasswordChange: false }, handoff: { finisher: TEST_FINISHER, ref: '' }, forceAuthn: false, passive: false });
  const browser = new TestBrowser();
  const page = await browser.submit(await browser.get(`${app.url}/login/${tx.id}`), { username: 'alice', password: 'Passw0rd!alice' });
  assert.equal(page.status, ERROR_CATALOGUE.DIRECTORY_MISCONFIGURED.status);
  assert.ok(page.body.includes(ERROR_CATALOGUE.DIRECTORY_MISCONFIGURED.message), page.body);
  assert.ok(!page.body.includes(ERROR_CATALOGUE.DIRECTORY_UNAVAILABLE.message));
  assert.doesNotMatch(page.body, /idAttribute|employeeNumber|uid=alice/, 'no internals on the page');
  const logged = app.logs.find((line) => line['event'] === 'ldap.misconfigured');
  assert.match(String(logged?.['error']), /uid=alice,ou=people,dc=example,dc=org has no employeeNumber; check users\.idAttribute/);
  const [event] = (await app.services.store.audit.query({ types: ['login.password'], limit: 1 })).events;
  assert.equal(event?.reason, 'directory-misconfigured');
});
