import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boot } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { TestSp, isPasswordPage, sendAuthnRequest } from '../helpers/saml-sp.ts';
import { parseConfig } from '../../src/config/load.ts';

const PASSWORD = 'Correct-horse-42';
const MESSAGES = {
  signInHint: 'Use your CORP account to reach {app}. <b>not bold</b>',
  totpPrompt: '{username}, enter the code your app shows for {app}.',
  helpdesk: 'Service desk: call 1234 & say "Stepgate".',
};
const HELPDESK_HTML = 'Service desk: call 1234 &amp; say &quot;Stepgate&quot;.';

test("the administrator's texts appear on the sign-in, code, refusal and error pages, filled in and escaped", async () => {
  const app = await boot({ messages: MESSAGES });
  try {
    const aliceId = await addLocalUser(app.services, 'alice', PASSWORD, { name: 'Alice <Admin>' });
    await app.services.mfa.enrollments.put(aliceId, 'alice', 'JBSWY3DPEHPK3PXP', { digits: 6, periodSeconds: 30, algorithm: 'sha1' }, Date.now());
    const [wiki, closed] = await Promise.all([
      TestSp.create(app, { name: 'wiki', register: { name: 'Wiki <Co>', policy: 'permit-everyone-require-mfa' } }),
      TestSp.create(app, { name: 'closed', register: { policy: 'deny-everyone' } }),
    ]);

    const browser = new TestBrowser();
    const passwordPage = await sendAuthnRequest(browser, wiki, '', { disableRequestedAuthnContext: true });
    assert.ok(isPasswordPage(passwordPage));
    assert.match(passwordPage.body, /<p class="hint">Use your CORP account to reach Wiki &lt;Co&gt;\. &lt;b&gt;not bold&lt;\/b&gt;<\/p>/);

    const codePage = await browser.submit(passwordPage, { username: 'alice', password: PASSWORD });
    assert.equal(codePage.status, 200);
    assert.match(codePage.body, /<p id="code-prompt">Alice &lt;Admin&gt;, enter the code your app shows for Wiki &lt;Co&gt;\.<\/p>/);
    assert.doesNotMatch(codePage.body, /asks for a second step/, 'instead of the standard sentence');

    const refused = await sendAuthnRequest(browser, closed);
    assert.equal(refused.status, 403);
    assert.ok(refused.body.includes(`<p class="helpdesk">${HELPDESK_HTML}</p>`));

    const expired = await browser.get(`${app.url}/login/${'x'.repeat(43)}`);
    assert.equal(expired.status, 400);
    assert.ok(expired.body.includes(`<p class="helpdesk">${HELPDESK_HTML}</p>`), 'error pages too');

    const unknownClient = await browser.get(`${app.url}/oidc/auth?client_id=nobody&response_type=code&scope=openid&redirect_uri=https%3A%2F%2Fx.example%2Fcb`);
    assert.equal(unknownClient.status, 400);
    assert.ok(unknownClient.body.includes(`<p class="helpdesk">${HELPDESK_HTML}</p>`), "oidc-provider's error pages too");
  } finally {
    await app.close();
  }
});

test('without texts the pages keep their standard wording and show no helpdesk line', async () => {
  const app = await boot();
  try {
    const page = await new TestBrowser().get(`${app.url}/login/${'x'.repeat(43)}`);
    assert.equal(page.status, 400);
    assert.doesNotMatch(page.body, /class="helpdesk"/);
  } finally {
    await app.close();
  }
});

test('a text with a placeholder it cannot use is refused at start, naming the key', () => {
  assert.throws(() => parseConfig({ messages: { signInHint: 'Hello {username}' } }), /messages\.signInHint: unknown placeholder \{username\}: this text may use \{app\}/);
  assert.throws(() => parseConfig({ messages: { helpdesk: 'Call {phone}' } }), /messages\.helpdesk: unknown placeholder \{phone\}: this text takes none/);
  assert.throws(() => parseConfig({ messages: { welcome: 'Hi' } }), /messages/);
  assert.equal(parseConfig({ messages: { totpPrompt: '  {username}: your code for {app}  ' } }).messages.totpPrompt, '{username}: your code for {app}');
});
