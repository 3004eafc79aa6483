import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { samlPostForm, sendAuthnRequest, type TestSp } from '../helpers/saml-sp.ts';
import { ALICE, bootWithSessionEnd } from '../helpers/session-end.ts';

/** Every assertion Stepgate issues names the SSO session's absolute end (SessionNotOnOrAfter), also after a re-authentication. */
let app: Booted;
let sp: TestSp;

before(async () => {
  ({ app, sp } = await bootWithSessionEnd('r6-session-end-sso'));
});
after(() => app?.close());

function sessionNotOnOrAfter(samlResponse: string): number {
  return Date.parse(/<saml:AuthnStatement [^>]*SessionNotOnOrAfter="([^"]+)"/.exec(Buffer.from(samlResponse, 'base64').toString('utf8'))![1]!);
}

test('the SSO answer carries the session end; node-saml and xmlsec1 accept it; a re-authentication names the new session end', async () => {
  const browser = new TestBrowser();
  const first = samlPostForm(await browser.submit(await sendAuthnRequest(browser, sp), ALICE)).fields.SAMLResponse!;
  await sp.validate(first);
  const [session] = await app.services.sessions.live();
  assert.equal(sessionNotOnOrAfter(first), session!.createdAt + 3 * 3_600_000);

  const again = samlPostForm(await browser.submit(await sendAuthnRequest(browser, sp, '', { forceAuthn: true }), ALICE)).fields.SAMLResponse!;
  await sp.validate(again);
  const [next] = await app.services.sessions.live();
  assert.equal(sessionNotOnOrAfter(again), next!.createdAt + 3 * 3_600_000);
});
