import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { TestSp, isPasswordPage, samlPostForm, sendAuthnRequest } from '../helpers/saml-sp.ts';
import { createSpRegistry } from '../../src/saml/sp-registry.ts';
import type { AppError } from '../../src/core/errors.ts';

const PASSWORD = 'Entity-shapes-2026';
const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';

/**
 * SP metadata in the shapes products publish around the one SPSSODescriptor Stepgate reads: AD FS's
 * FederationMetadata.xml (AD FS as the SP of a claims provider trust) also lists WS-Federation
 * RoleDescriptors, typed with xsi:type, and its own IDPSSODescriptor; some tools wrap a single SP in
 * an EntitiesDescriptor. These register and sign in. What cannot be registered is refused in words
 * that name it: an aggregate of several SPs, an identity provider's metadata given by mistake.
 */
describe('SP metadata with other roles, or inside an EntitiesDescriptor', () => {
  let app: Booted;

  before(async () => {
    app = await boot();
    await addLocalUser(app.services, 'nadia', PASSWORD);
  });
  after(() => app.close());

  const registry = () => createSpRegistry(app.services.store, app.services.clock);

  /** A node-saml SP registered from its own metadata reshaped by `reshape`; refused metadata fails the test. */
  async function spFrom(name: string, reshape: (xml: string) => string): Promise<TestSp> {
    const sp = await TestSp.create(app, { name });
    await registry().remove(sp.entityId);
    await registry().add(reshape(sp.metadataXml), { name });
    return sp;
  }

  async function assertSignsIn(sp: TestSp): Promise<void> {
    const browser = new TestBrowser();
    const page = await sendAuthnRequest(browser, sp, 'shape');
    assert.ok(isPasswordPage(page), `expected the password page, got ${page.status}: ${page.body.slice(0, 300)}`);
    const { action, fields } = samlPostForm(await browser.submit(page, { username: 'nadia', password: PASSWORD }));
    assert.equal(action, sp.acsUrl);
    const { profile } = await sp.validate(fields.SAMLResponse!);
    assert.ok(profile?.nameID);
  }

  /** The metadata's root element opened, with what `inside` returns placed right after its opening tag. */
  function afterRootOpening(xml: string, inside: (entityId: string) => string): string {
    const opening = /<(?:md:)?EntityDescriptor\b[^>]*>/.exec(xml)!;
    const entityId = /entityID="([^"]+)"/.exec(opening[0])![1]!;
    const end = opening.index + opening[0].length;
    return xml.slice(0, end) + inside(entityId) + xml.slice(end);
  }

  test('AD FS FederationMetadata.xml: typed RoleDescriptors and an IDPSSODescriptor beside the SPSSODescriptor', async () => {
    const sp = await spFrom('adfs', (xml) =>
      afterRootOpening(xml, (entityId) => {
        const role = (type: string) =>
          `<RoleDescriptor xmlns="${MD}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:fed="http://docs.oasis-open.org/wsfed/federation/200706" xsi:type="fed:${type}" protocolSupportEnumeration="http://docs.oasis-open.org/wsfed/federation/200706" ServiceDisplayName="AD FS"><fed:PassiveRequestorEndpoint><wsa:EndpointReference xmlns:wsa="http://www.w3.org/2005/08/addressing"><wsa:Address>${entityId}/adfs/ls/</wsa:Address></wsa:EndpointReference></fed:PassiveRequestorEndpoint></RoleDescriptor>`;
        return role('ApplicationServiceType') + role('SecurityTokenServiceType');
      }).replace(/(<\/(?:md:)?EntityDescriptor>)/, `<IDPSSODescriptor xmlns="${MD}" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><SingleSignOnService Binding="${REDIRECT}" Location="https://adfs.sp.test/adfs/ls/"/></IDPSSODescriptor>$1`),
    );
    const stored = (await registry().get(sp.entityId))!;
    assert.deepEqual(stored.acs.map((endpoint) => endpoint.location), [sp.acsUrl], 'only the SP role is read');
    await assertSignsIn(sp);
  });

  test('an EntitiesDescriptor around one SP registers that SP', async () => {
    const sp = await spFrom('wrapped', (xml) => `<EntitiesDescriptor xmlns="${MD}" Name="https://federation.example.org">${xml.replace(/^<\?xml[^>]*>/, '')}</EntitiesDescriptor>`);
    await assertSignsIn(sp);
  });

  test('an EntitiesDescriptor of several SPs is refused, naming them; nothing is registered', async () => {
    const entity = (host: string) => `<EntityDescriptor entityID="https://${host}/sp"><SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://${host}/acs" index="0"/></SPSSODescriptor></EntityDescriptor>`;
    const before = (await registry().list()).length;
    await assert.rejects(
      registry().add(`<EntitiesDescriptor xmlns="${MD}">${entity('one.example.org')}${entity('two.example.org')}</EntitiesDescriptor>`),
      (error: AppError) => {
        assert.equal(error.code, 'METADATA_INVALID');
        assert.match(error.userMessage, /EntitiesDescriptor holding 2 entities \(https:\/\/one\.example\.org\/sp, https:\/\/two\.example\.org\/sp\).*one service provider at a time/);
        return true;
      },
    );
    assert.equal((await registry().list()).length, before);
  });

  test("an identity provider's metadata is refused as such", async () => {
    const idpMetadata = await (await fetch(`${app.url}/saml/metadata`)).text();
    await assert.rejects(registry().add(idpMetadata), (error: AppError) => {
      assert.match(error.userMessage, /no SPSSODescriptor: this is the metadata of an identity provider \(IDPSSODescriptor\), not of a service provider/);
      return true;
    });
  });
});
