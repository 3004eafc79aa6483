import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { TestSp, isPasswordPage, redirectMessageXml, samlPostForm, xmlsecVerify } from '../helpers/saml-sp.ts';
import { createSpRegistry } from '../../src/saml/sp-registry.ts';

const HTTP_POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
const ARTIFACT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact';
const SIMPLE_SIGN = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST-SimpleSign';
const UNSUPPORTED_BINDING = /<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Requester"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:UnsupportedBinding">/;

/**
 * An AuthnRequest that names a registered ACS of another binding by AssertionConsumerServiceIndex or
 * AssertionConsumerServiceURL (no ProtocolBinding) asks for that binding as much as ProtocolBinding
 * does: saml-core §3.4.1 answers it with UnsupportedBinding, not with the "not registered" page.
 */
describe('an AuthnRequest naming a registered ACS of a binding other than HTTP-POST', () => {
  let app: Booted;
  let sp: TestSp;
  const artifactUrl = 'https://acs-bindings.sp.test/artifact';
  const simpleSignUrl = 'https://acs-bindings.sp.test/simplesign';

  before(async () => {
    app = await boot();
    await addLocalUser(app.services, 'erin', 'Acs-binding-pass-2026');
    sp = await TestSp.create(app, { name: 'acs-bindings' });
    // Registered again from metadata that also lists an Artifact (index 2) and a POST-SimpleSign (index 3) ACS.
    const registry = createSpRegistry(app.services.store, app.services.clock);
    await registry.remove(sp.entityId);
    const postAcs = /<AssertionConsumerService\b[^>]*\/>/.exec(sp.metadataXml)![0];
    const metadata = sp.metadataXml.replace(
      postAcs,
      `${postAcs}<AssertionConsumerService index="2" Binding="${ARTIFACT}" Location="${artifactUrl}"/><AssertionConsumerService index="3" Binding="${SIMPLE_SIGN}" Location="${simpleSignUrl}"/>`,
    );
    const { record } = await registry.add(metadata, { name: 'acs-bindings' });
    assert.deepEqual(record.acs.map((endpoint) => [endpoint.index, endpoint.binding]), [[1, HTTP_POST], [2, ARTIFACT], [3, SIMPLE_SIGN]]);
  });
  after(() => app.close());

  /** node-saml's AuthnRequest without ProtocolBinding and ACS URL, `naming` added instead, signed in the Redirect query. */
  async function requestNaming(naming: string, relayState: string): Promise<{ url: string; id: string }> {
    const unsigned = await sp.client({ privateKey: undefined }).getAuthorizeUrlAsync('', undefined, {});
    const xml = redirectMessageXml(unsigned, 'SAMLRequest')
      .replace(` ProtocolBinding="${HTTP_POST}"`, '')
      .replace(/ AssertionConsumerServiceURL="[^"]*"/, ` ${naming}`);
    const saml = sp.client();
    const url = await saml._requestToUrlAsync(xml, null, 'authorize', saml._getAdditionalParams(relayState, 'authorize'));
    return { url, id: /ID="([^"]+)"/.exec(xml)![1]! };
  }

  function warnings(since: number): Array<Record<string, unknown>> {
    return app.logs.slice(since).filter((line) => line.code === 'SAML_UNSUPPORTED_BINDING');
  }

  async function assertUnsupportedBinding(page: Page, id: string, relayState: string, binding: string, since: number): Promise<void> {
    const { action, fields } = samlPostForm(page);
    assert.equal(action, sp.acsUrl, 'to the default POST ACS');
    assert.equal(fields.RelayState, relayState);
    const xml = Buffer.from(fields.SAMLResponse!, 'base64').toString('utf8');
    assert.match(xml, UNSUPPORTED_BINDING);
    assert.match(xml, new RegExp(`InResponseTo="${id}"`));
    assert.match(xml, new RegExp(`Destination="${sp.acsUrl}"`));
    assert.doesNotMatch(xml, /saml:Assertion|artifact|simplesign/);
    assert.ok((await xmlsecVerify(xml, sp.idpCertPems[0]!)).ok, 'signed');
    await assert.rejects(sp.validate(fields.SAMLResponse!), /Requester error: Responses are sent with the HTTP-POST binding only/);
    assert.deepEqual(warnings(since).map((line) => line.protocolBinding), [binding]);
  }

  for (const [name, index, binding] of [['HTTP-Artifact', 2, ARTIFACT], ['HTTP-POST-SimpleSign', 3, SIMPLE_SIGN]] as const) {
    test(`AssertionConsumerServiceIndex of the ${name} ACS: a signed Requester/UnsupportedBinding Response at the default POST ACS`, async () => {
      const since = app.logs.length;
      const { url, id } = await requestNaming(`AssertionConsumerServiceIndex="${index}"`, `rs-index-${index}`);
      await assertUnsupportedBinding(await new TestBrowser().get(url), id, `rs-index-${index}`, binding, since);
    });
  }

  test('AssertionConsumerServiceURL of the Artifact ACS, no ProtocolBinding: the same Response', async () => {
    const since = app.logs.length;
    const { url, id } = await requestNaming(`AssertionConsumerServiceURL="${artifactUrl}"`, 'rs-url');
    await assertUnsupportedBinding(await new TestBrowser().get(url), id, 'rs-url', ARTIFACT, since);
  });

  test('the POST ACS by index starts the sign-in; an index nothing is registered at still gets the error page', async () => {
    assert.ok(isPasswordPage(await new TestBrowser().get((await requestNaming('AssertionConsumerServiceIndex="1"', '')).url)));
    const since = app.logs.length;
    const unknown = await new TestBrowser().get((await requestNaming('AssertionConsumerServiceIndex="7"', '')).url);
    assert.equal(unknown.status, 400);
    assert.doesNotMatch(unknown.body, /name="SAMLResponse"/);
    assert.deepEqual(warnings(since), []);
  });
});
