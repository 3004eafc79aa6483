import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { successResponseXml } from '../../src/saml/response-xml.ts';
import { signCanonical } from '../../src/saml/canonical-signature.ts';
import type { IdpSigner } from '../../src/saml/idp-identity.ts';
import { createTestSigner } from '../helpers/saml-sp.ts';
import { checkResponse, type SamlContext } from '../../scripts/bench/driver/saml.ts';
import { SubjectLedger, subjectBuffer } from '../../scripts/bench/driver/subjects.ts';
import type { SamlSetup } from '../../scripts/bench/driver/protocol.ts';

/**
 * The bench's SAML check must refuse a validly signed Response about someone other than the user who
 * signed in, as an SP would: the uid attribute names the user, and the persistent NameID stays the
 * same for that user and is no one else's (the ledger the driver's workers share).
 */
const setup: SamlSetup = { idpEntityId: 'https://idp.test/saml/metadata', ssoRedirectUrl: 'https://idp.test/saml/sso', idpCertificates: [], spEntityId: 'https://sp.bench.example/metadata', acsUrl: 'https://sp.bench.example/saml/acs' };
const MFA = 'https://refeds.org/profile/mfa';
const PERSISTENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';
const REQUEST = '_request1';

let signer: IdpSigner;

before(async () => {
  const made = await createTestSigner();
  signer = made.signer;
  setup.idpCertificates = [made.certificatePem];
});

function context(users = 10): SamlContext {
  return { http: undefined as never, users: undefined as never, setup, mfaAcr: MFA, subjects: new SubjectLedger(subjectBuffer(users), users) };
}

/** A Response shaped and signed as Stepgate's (the Assertion signed), naming `username` with this NameID. */
async function signedResponse(username: string, nameId: string, format = PERSISTENT): Promise<string> {
  const now = new Date();
  const xml = successResponseXml(
    { id: '_response1', issueInstant: now, issuer: setup.idpEntityId, destination: setup.acsUrl, inResponseTo: REQUEST },
    {
      id: '_assertion1',
      audience: setup.spEntityId,
      nameId: { value: nameId, format, nameQualifier: setup.idpEntityId, spNameQualifier: setup.spEntityId },
      notOnOrAfter: new Date(now.getTime() + 300_000),
      authnInstant: now,
      sessionIndex: '_session1',
      authnContextClassRef: MFA,
      attributes: [
        { name: 'urn:oid:0.9.2342.19200300.100.1.1', friendlyName: 'uid', nameFormat: 'uri', values: [username] },
        { name: 'urn:oid:0.9.2342.19200300.100.1.3', friendlyName: 'mail', nameFormat: 'uri', values: [`${username}@example.org`] },
      ],
    },
  );
  return Buffer.from(await signCanonical(xml, 'Assertion', signer)).toString('base64');
}

describe('the bench SAML check: whom the assertion is about', () => {
  test('a signed response for the signed-in user passes and gives its NameID', async () => {
    const ctx = context();
    assert.deepEqual(checkResponse(ctx, await signedResponse('user7', 'NAME-7'), REQUEST, Date.now(), 7), { nameId: 'NAME-7' });
  });

  test("a validly signed response for another user is refused (the uid attribute is not the signed-in user's)", async () => {
    const ctx = context();
    const forUser8 = await signedResponse('user8', 'NAME-8');
    assert.equal(checkResponse(ctx, forUser8, REQUEST, Date.now(), 8).nameId, 'NAME-8');
    assert.throws(() => checkResponse(ctx, forUser8, REQUEST, Date.now(), 7), /uid \["user8"\] is not user7/);
  });

  test('a NameID in another format than the persistent one the SP asked for is refused', async () => {
    const ctx = context();
    const transient = await signedResponse('user7', '_random', 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient');
    assert.throws(() => checkResponse(ctx, transient, REQUEST, Date.now(), 7), /NameID format/);
  });
});

describe('the ledger of NameIDs the workers share', () => {
  test("a user's NameID must stay the same, and must not be another user's, also as seen from another thread's ledger", () => {
    const buffer = subjectBuffer(10);
    const one = new SubjectLedger(buffer, 10);
    const other = new SubjectLedger(buffer, 10); // another worker: the same shared memory
    one.note(7, 'NAME-7');
    other.note(7, 'NAME-7');
    other.note(8, 'NAME-8');
    assert.throws(() => other.note(7, 'NAME-7b'), /the NameID of user7 changed/);
    assert.throws(() => one.note(9, 'NAME-7'), /already named user7/);
    // refused notes leave nothing behind: user9 can still get its own NameID
    one.note(9, 'NAME-9');
    assert.equal(one.checked, 4);
    assert.equal(other.checked, 4);
  });

  test('an IdP that names users anew at every sign-in is refused each time, until the table is full, and then still', () => {
    const ledger = new SubjectLedger(subjectBuffer(2), 2);
    const refusals: string[] = [];
    for (let index = 0; index < 100; index++) {
      try {
        ledger.note(index % 2, `_transient${index}`);
      } catch (error) {
        refusals.push((error as Error).message);
      }
    }
    assert.equal(refusals.length, 98);
    assert.match(refusals[0]!, /the NameID of user0 changed/);
    assert.match(refusals.at(-1)!, /more distinct NameIDs than twice the bench users/);
  });
});
