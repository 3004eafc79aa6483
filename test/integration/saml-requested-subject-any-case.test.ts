import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { TestSp, isPasswordPage, samlPostForm } from '../helpers/saml-sp.ts';

const UNSPECIFIED = 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified';
const EMAIL = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
const PASSWORD = 'Correct-horse-42';

/** A Subject an SP names by the username or the email address the user signs in with, in a case of its own. */
describe('SAML AuthnRequest Subject named by username or email address in another case', () => {
  let app: Booted;
  let sp: TestSp;

  before(async () => {
    app = await boot();
    await addLocalUser(app.services, 'alice', PASSWORD);
    sp = await TestSp.create(app, { name: 'subject-case', signRequests: false });
  });
  after(() => app.close());

  const naming = (nameId: string, format: string) =>
    `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_${randomUUID()}" Version="2.0" IssueInstant="${new Date().toISOString()}" Destination="${app.url}/saml/sso"><saml:Issuer>${sp.entityId}</saml:Issuer><saml:Subject><saml:NameID Format="${format}">${nameId}</saml:NameID></saml:Subject></samlp:AuthnRequest>`;
  const send = (browser: TestBrowser, xml: string) => browser.get(`${app.url}/saml/sso?SAMLRequest=${encodeURIComponent(deflateRawSync(Buffer.from(xml)).toString('base64'))}`);
  const responseOf = (page: Page) => Buffer.from(samlPostForm(page).fields.SAMLResponse!, 'base64').toString('utf8');

  for (const [what, nameId, format] of [['a username, Format unspecified', 'ALICE', UNSPECIFIED], ['an email address, Format emailAddress', 'Alice@Example.ORG', EMAIL]] as const) {
    test(`${what}, in another case than the user's, names the user who signs in with it: an assertion`, async () => {
      const browser = new TestBrowser();
      const passwordPage = await send(browser, naming(nameId, format));
      assert.ok(isPasswordPage(passwordPage), passwordPage.body);
      const response = responseOf(await browser.submit(passwordPage, { username: 'alice', password: PASSWORD }));
      assert.match(response, /StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/);
      assert.match(response, /<saml:Assertion /);
      assert.equal(app.logs.filter((line) => line.code === 'SAML_SUBJECT_MISMATCH').length, 0);
    });
  }
});
