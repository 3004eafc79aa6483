import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { TestSp, isPasswordPage, samlPostForm } from '../helpers/saml-sp.ts';

const UNSPECIFIED = 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified';
const PASSWORD = 'Correct-horse-42';

describe('SAML AuthnRequest Subject named by an unspecified-format value (saml-core §3.4.1.4, §8.1.1)', () => {
  let app: Booted;
  let sp: TestSp;

  before(async () => {
    app = await boot();
    await addLocalUser(app.services, 'alice', PASSWORD);
    await addLocalUser(app.services, 'bob', PASSWORD);
    sp = await TestSp.create(app, { name: 'subject', signRequests: false });
  });
  after(() => app.close());

  function naming(nameId: string, format?: string): string {
    const formatAttribute = format ? ` Format="${format}"` : '';
    return `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_${randomUUID()}" Version="2.0" IssueInstant="${new Date().toISOString()}" Destination="${app.url}/saml/sso"><saml:Issuer>${sp.entityId}</saml:Issuer><saml:Subject><saml:NameID${formatAttribute}>${nameId}</saml:NameID></saml:Subject></samlp:AuthnRequest>`;
  }
  const send = (browser: TestBrowser, xml: string) => browser.get(`${app.url}/saml/sso?SAMLRequest=${encodeURIComponent(deflateRawSync(Buffer.from(xml)).toString('base64'))}`);
  const responseOf = (page: Page) => Buffer.from(samlPostForm(page).fields.SAMLResponse!, 'base64').toString('utf8');

  for (const format of [UNSPECIFIED, undefined]) {
    test(`an email address as the subject (${format ? 'Format unspecified' : 'no Format'}) is the user who signs in with it: the form it pre-fills leads to an assertion`, async () => {
      const browser = new TestBrowser();
      const passwordPage = await send(browser, naming('ALICE@example.org', format));
      assert.ok(isPasswordPage(passwordPage));
      assert.match(passwordPage.body, /value="ALICE@example\.org"/, 'the subject pre-fills the sign-in form');
      const response = responseOf(await browser.submit(passwordPage, { username: 'ALICE@example.org', password: PASSWORD }));
      assert.match(response, /StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/);
      assert.match(response, /<saml:Assertion /);
      assert.equal(app.logs.filter((line) => line.code === 'SAML_SUBJECT_MISMATCH').length, 0);
    });
  }

  test("another user's email address as an unspecified subject still gets no assertion for the user signed in", async () => {
    const browser = new TestBrowser();
    const response = responseOf(await browser.submit(await send(browser, naming('bob@example.org', UNSPECIFIED)), { username: 'alice', password: PASSWORD }));
    assert.match(response, /StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:UnknownPrincipal"/);
    assert.doesNotMatch(response, /Assertion/);
    assert.ok(app.logs.some((line) => line.code === 'SAML_SUBJECT_MISMATCH'));
  });
});
