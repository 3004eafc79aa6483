import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { boot, type Booted } from '../helpers/boot.ts';
import { cliInProcess } from '../helpers/cli.ts';
import { fixtureLdif, slapdDirectoryInput } from '../helpers/ldap-directory.ts';
import { authRequest, createRp, rpBrowser } from '../helpers/oidc-rp.ts';

let slapd: SlapdHandle;
let app: Booted;

before(async () => {
  slapd = await startSlapd({ monitor: false, ldif: await fixtureLdif() });
  app = await boot({ directory: slapdDirectoryInput(slapd) });
});
after(async () => {
  await app?.close();
  await slapd?.stop();
});

const cli = (...words: string[]) => cliInProcess({ config: () => app.services.config, store: async () => app.services.store, box: () => app.services.box, clock: app.services.clock }, words);

test('LDAP: policy explain says the password step refuses an account ppolicy marks disabled, in the words the browser then shows', async () => {
  const rp = await createRp(app, { policy: 'permit-everyone' });
  const disabled = 'Your account is disabled. Contact your helpdesk.';
  const wrongPassword = 'Invalid username or password.';
  // Under ppolicy's lockout, slapd refuses the account before it checks the password; without it, after.
  for (const [username, password, status, words] of [['marked-disabled', 'Passw0rd!marked-disabled', 403, disabled], ['disabled', 'Passw0rd!disabled', 401, wrongPassword]] as const) {
    const { code, out, err } = await cli('policy', 'explain', '--user', username, '--app', rp.client.id);
    assert.equal(code, 0, err);
    assert.match(out, /^account {3}disabled or expired: the password step refuses it, also with the right password/m, username);
    const browserLine = /^browser {3}(.*)$/m.exec(out)![1]!;
    assert.ok(browserLine.startsWith('refused at the password step: '), out);
    assert.ok(browserLine.includes(`"${words}"`), `${username}: ${browserLine}`);

    const browser = rpBrowser();
    const page = await browser.submit(await browser.get((await authRequest(rp)).url.toString()), { username, password });
    assert.equal(page.status, status, username);
    assert.ok(page.body.includes(words), page.body.slice(0, 600));
  }

  const signsIn = await cli('policy', 'explain', '--user', 'alice', '--app', rp.client.id);
  assert.doesNotMatch(signsIn.out, /^account/m);
  assert.match(signsIn.out, /^browser {3}signed in/m);
});
