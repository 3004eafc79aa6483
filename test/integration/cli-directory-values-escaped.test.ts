import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { boot, type Booted } from '../helpers/boot.ts';
import { cliInProcess } from '../helpers/cli.ts';
import { ALL_SCOPES, authRequest, callbackOf, createRp, redeem, rpBrowser } from '../helpers/oidc-rp.ts';
import { PEOPLE } from '../helpers/ldap-directory.ts';

// Directory values reach the admin's terminal through the CLI. Control characters in them (an HR
// sync, a user editing their own entry) must be shown escaped, as `audit` shows them, never sent to
// the terminal: ESC [2J clears the screen, ESC [31m recolours what follows, BEL rings.
const PASSWORD = 'Passw0rd!esc';
const ESCAPED_UID = 'esc\u001b[2J\u001b[31mROOT';
const CTRL_NAME = 'ctrl\u001b[31mred\u0007';
/** Control characters but the newline between the lines the CLI printed. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

const b64 = (value: string) => Buffer.from(value).toString('base64');

let slapd: SlapdHandle;
let app: Booted;

before(async () => {
  slapd = await startSlapd({
    monitor: false,
    ppolicy: false,
    ldif: [
      // the first uid value is the username; the second one signs in
      `dn: uid=esc,${PEOPLE}\nobjectClass: inetOrgPerson\nuid:: ${b64(ESCAPED_UID)}\nuid: esc\ncn: esc\nsn: esc\nuserPassword: ${PASSWORD}\n`,
      `dn: uid=ctrl,${PEOPLE}\nobjectClass: inetOrgPerson\nuid: ctrl\ncn:: ${b64(CTRL_NAME)}\nsn: ctrl\nuserPassword: ${PASSWORD}\n`,
    ],
  });
  app = await boot({ directory: { kind: 'ldap', urls: [slapd.url], connectTimeoutMs: 2000, searchTimeoutMs: 5000, bind: { dn: slapd.serviceDn, password: slapd.servicePassword }, users: { baseDn: PEOPLE } } });
});

after(async () => {
  await app?.close();
  await slapd?.stop();
});

const cli = (...words: string[]) => {
  const { services } = app;
  return cliInProcess({ config: () => services.config, store: async () => services.store, box: () => services.box, clock: services.clock }, words);
};

test('session list shows a username with terminal escape sequences escaped', async () => {
  const rp = await createRp(app, { policy: 'permit-everyone' });
  const request = await authRequest(rp, { scope: ALL_SCOPES });
  const browser = rpBrowser();
  await redeem(rp, request, callbackOf(rp, await browser.submit(await browser.get(request.url.toString()), { username: 'esc', password: PASSWORD })));
  const listed = await cli('session', 'list');
  assert.equal(listed.code, 0, listed.err);
  assert.doesNotMatch(listed.out, RAW_CONTROL);
  assert.match(listed.out, / esc\\u\{1b\}\[2J\\u\{1b\}\[31mROOT {2}signed in /);
});

test('directory test shows a name with ESC and BEL escaped', async () => {
  const tested = await cli('directory', 'test', '--user', 'ctrl');
  assert.doesNotMatch(tested.out, RAW_CONTROL);
  assert.match(tested.out, /name ctrl\\u\{1b\}\[31mred\\u\{7\},/);
});
