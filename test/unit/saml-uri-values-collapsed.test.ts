import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readAuthnRequest } from '../../src/saml/authn-request.ts';
import { readLogoutResponse } from '../../src/saml/logout-response.ts';
import { chooseNameIdFormat } from '../../src/saml/name-id.ts';
import { BINDING, NAMEID_FORMAT, STATUS } from '../../src/saml/constants.ts';
import type { InboundRequest, MessageKind } from '../../src/saml/inbound.ts';
import type { ServiceProviderRecord } from '../../src/saml/sp-types.ts';
import { parseStrict } from '../../src/saml/xml-dom.ts';
import { samlSchemas } from '../../src/saml/schema-validator.ts';

const SP: ServiceProviderRecord = {
  id: 'https://sp.test/metadata',
  name: 'SP',
  metadataXml: '',
  acs: [{ binding: BINDING.post, location: 'https://sp.test/acs', index: 0 }],
  slo: [],
  signingCertificates: [],
  nameIdFormats: [],
  settings: { wantAssertionsSigned: false, wantResponseSigned: true, requireSignedRequests: false, encryptAssertions: false, nameIdFormat: 'persistent', attributes: [], allowPasswordChange: false },
  createdAt: 0,
  updatedAt: 0,
};
const NAMESPACES = 'xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"';
const HEAD = `ID="_m1" Version="2.0" IssueInstant="2026-11-24T18:00:00Z"`;

/** A message as readInboundRequest hands it on; the schema check it passed there is made here too. */
function inbound(kind: MessageKind, xml: string): InboundRequest {
  samlSchemas().validateProtocol(xml);
  return { kind, binding: 'redirect', root: parseStrict(xml).documentElement, id: '_m1', sp: SP, signed: true };
}

describe('xs:anyURI values in SP messages are read after the schema whitespace collapse', () => {
  test('NameIDPolicy Format with spaces around it is that format, not an unsupported one', () => {
    const xml = `<samlp:AuthnRequest ${NAMESPACES} ${HEAD}><saml:Issuer>${SP.id}</saml:Issuer><samlp:NameIDPolicy Format=" ${NAMEID_FORMAT.email}&#10;"/></samlp:AuthnRequest>`;
    const { nameIdPolicy } = readAuthnRequest(inbound('AuthnRequest', xml));
    assert.equal(nameIdPolicy.format, NAMEID_FORMAT.email);
    assert.equal(chooseNameIdFormat(nameIdPolicy, SP), 'email');
  });

  test('a LogoutResponse StatusCode Value with spaces around it is that status: a Success is a confirmed sign-out', () => {
    const xml = `<samlp:LogoutResponse ${NAMESPACES} ${HEAD} InResponseTo="_r1"><saml:Issuer>${SP.id}</saml:Issuer><samlp:Status><samlp:StatusCode Value=" ${STATUS.responder} "><samlp:StatusCode Value="&#9;${STATUS.partialLogout}"/></samlp:StatusCode></samlp:Status></samlp:LogoutResponse>`;
    assert.deepEqual(readLogoutResponse(inbound('LogoutResponse', xml)).status, { top: STATUS.responder, second: STATUS.partialLogout });
    const success = xml.replace(` ${STATUS.responder} `, ` ${STATUS.success} `);
    assert.equal(readLogoutResponse(inbound('LogoutResponse', success)).status.top, STATUS.success);
  });
});
