import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { samlPostForm, sendAuthnRequest, type TestSp } from '../helpers/saml-sp.ts';
import { ALICE, bootWithSessionEnd } from '../helpers/session-end.ts';
import { createSamlContext } from '../../src/saml/saml-context.ts';
import { samlSchemas } from '../../src/saml/schema-validator.ts';

/**
 * An assertion's AuthnStatement carries SessionNotOnOrAfter, the SSO session's absolute end, so an
 * SP (Shibboleth) ends its own session no later than ours. Built by Stepgate's response builder,
 * checked by the schema, xmlsec1 and node-saml.
 */
let app: Booted;
let sp: TestSp;

before(async () => {
  ({ app, sp } = await bootWithSessionEnd('r6-session-end'));
});
after(() => app?.close());

test("SessionNotOnOrAfter is the SSO session's absolute end; the response stays schema-valid and its signatures verify", async () => {
  const browser = new TestBrowser();
  samlPostForm(await browser.submit(await sendAuthnRequest(browser, sp), ALICE));
  const [session] = await app.services.sessions.live();
  const ends = new Date(app.services.sessions.endsAt(session!));
  assert.equal(ends.getTime(), session!.createdAt + 3 * 3_600_000);

  const ctx = createSamlContext(app.services);
  const response = await ctx.responses.success(
    { sp: (await ctx.registry.get(sp.entityId))!, acsUrl: sp.acsUrl },
    { nameId: { value: 'opaque-id', format: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent' }, authnInstant: new Date(session!.authTime), sessionIndex: 'index-1', sessionNotOnOrAfter: ends, authnContextClassRef: 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport', attributes: [] },
  );
  const xml = Buffer.from(response, 'base64').toString('utf8');
  assert.match(xml, new RegExp(`<saml:AuthnStatement AuthnInstant="[^"]+" SessionIndex="index-1" SessionNotOnOrAfter="${ends.toISOString()}">`));
  samlSchemas().validateProtocol(xml);
  const { profile } = await sp.validate(response);
  assert.equal(profile!.nameID, 'opaque-id');
});
