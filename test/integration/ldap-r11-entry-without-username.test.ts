import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { boot, TEST_FINISHER, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { PEOPLE, slapdDirectoryInput } from '../helpers/ldap-directory.ts';
import { ERROR_CATALOGUE } from '../../src/core/errors.ts';
import { runCli } from '../../src/cli/run-cli.ts';
import { directoryCommands } from '../../src/cli/commands/directory.ts';
import { parseConfig } from '../../src/config/load.ts';
import { systemClock } from '../../src/core/clock.ts';

/**
 * An entry without users.usernameAttribute is a configuration to fix, like one without an id: signed
 * in, every such user would be released with the same empty uid and preferred_username, one person to
 * the applications. The sign-in is refused as misconfigured, the log names the entry and the setting,
 * and `directory test --user` warns about it.
 */
const pw = (cn: string): string => `Passw0rd!${cn}`;
const withoutUid = (cn: string, extra = ''): string =>
  `dn: cn=${cn},${PEOPLE}\nobjectClass: inetOrgPerson\ncn: ${cn}\nsn: ${cn}\nmail: ${cn}@example.org\nuserPassword: ${pw(cn)}\n${extra}`;

let slapd: SlapdHandle;
let app: Booted;
let dir: string;

before(async () => {
  [slapd, dir] = await Promise.all([startSlapd({ ldif: [withoutUid('nouid'), withoutUid('newhire', 'pwdReset: TRUE\n')], monitor: false }), mkdtemp(join(tmpdir(), 'stepgate-r11-nouid-'))]);
  app = await boot({ directory: slapdDirectoryInput(slapd, { alternateLoginAttributes: ['mail'] }) });
});

after(async () => {
  await app?.close();
  await slapd?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function signIn(login: string, password: string, allowPasswordChange = false) {
  const tx = await app.services.interaction.deps.transactions.create({ protocol: 'oidc', rpId: 'app', rpName: 'App', rp: { allowPasswordChange }, handoff: { finisher: TEST_FINISHER, ref: '' }, forceAuthn: false, passive: false });
  const browser = new TestBrowser();
  const page = await browser.submit(await browser.get(`${app.url}/login/${tx.id}`), { username: login, password });
  return { page, txId: tx.id };
}

test('an entry without uid: "sign-in is misconfigured" for the user, the entry and users.usernameAttribute in the log, no user released', async () => {
  const { page, txId } = await signIn('nouid@example.org', pw('nouid'));
  assert.equal(page.status, ERROR_CATALOGUE.DIRECTORY_MISCONFIGURED.status, page.body.slice(0, 500));
  assert.ok(page.body.includes(ERROR_CATALOGUE.DIRECTORY_MISCONFIGURED.message));
  assert.doesNotMatch(page.body, /usernameAttribute|cn=nouid/, 'no internals on the page');
  assert.equal(app.finished.get(txId), undefined, 'nobody signed in');
  const logged = app.logs.find((line) => line['event'] === 'ldap.misconfigured' && String(line['error']).includes('cn=nouid'));
  assert.match(String(logged?.['error']), new RegExp(`cn=nouid,${PEOPLE} has no uid; check users\\.usernameAttribute`));
  const [event] = (await app.services.store.audit.query({ types: ['login.password'], limit: 1 })).events;
  assert.equal(event?.reason, 'directory-misconfigured');
});

test('an entry without uid that must change its password: refused the same way, not sent to a change form that says "sign-in expired"', async () => {
  const { page } = await signIn('newhire@example.org', pw('newhire'), true);
  assert.equal(page.status, ERROR_CATALOGUE.DIRECTORY_MISCONFIGURED.status, `${page.url} ${page.body.slice(0, 500)}`);
  assert.doesNotMatch(page.url, /change-password/);
});

test('directory test --user warns of the missing uid, naming users.usernameAttribute', async () => {
  const config = parseConfig({ dataDir: join(dir, 'data'), directory: { ...slapdDirectoryInput(slapd, { alternateLoginAttributes: ['mail'] }) } });
  const out: string[] = [];
  const unused = (): never => assert.fail('directory test needs no store or secret key');
  const code = await runCli(directoryCommands, ['directory', 'test', '--user', 'nouid@example.org'], { config: () => config, store: unused, box: unused, clock: systemClock, out: (line) => out.push(line), err: (line) => out.push(line) });
  assert.equal(code, 1, out.join('\n'));
  const lookup = out.find((line) => line.slice(6).startsWith('user-lookup ')) ?? '<no user-lookup line>';
  assert.match(lookup, new RegExp(`^WARN +user-lookup +found cn=nouid,${PEOPLE}: .*username \\(no uid\\).*; cn=nouid,${PEOPLE} has no uid \\(users\\.usernameAttribute\\)`));
});
