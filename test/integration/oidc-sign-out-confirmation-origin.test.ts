import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { boot, type Booted } from '../helpers/boot.ts';
import { createRp, createUser, rpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';

/**
 * The sign-out confirmation refuses a form posted from another site. oidc-provider's router also
 * takes the confirmation's address in other letter case and with a trailing slash: those are the
 * same form, and refused alike.
 */
const ALICE = { username: 'alice', password: 'Passw0rd!alice' };

let app: Booted;
let rp: TestRp;

before(async () => {
  app = await boot();
  rp = await createRp(app);
  await createUser(app, ALICE);
});

after(async () => {
  await app?.close();
});

for (const spelling of ['/oidc/session/end/confirm/', '/oidc/session/end/CONFIRM', '/oidc/session/end/Confirm/']) {
  test(`a sign-out confirmation posted from another site to ${spelling} is refused and ends nothing`, async () => {
    const browser = rpBrowser();
    const { tokens } = await signIn(rp, browser, ALICE);
    const confirmation = await browser.get(oidc.buildEndSessionUrl(rp.config, { id_token_hint: tokens.id_token! }).toString());
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(confirmation.body)![1]!;

    const forged = await browser.request(new URL(spelling, app.url).toString(), { method: 'POST', body: new URLSearchParams({ xsrf, logout: 'yes' }), headers: { origin: 'https://elsewhere.example' } });
    assert.equal(forged.status, 403);
    const refreshed = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!);
    assert.ok(refreshed.access_token, 'still signed in: the refresh token works');
  });
}
