/**
 * Before any load: one sign-in per protocol from the main thread, checked as the workers check
 * them, and then the same results tampered with, which the checks must refuse. A verifier that
 * accepts anything would make every number of the bench meaningless.
 */
import { createLocalJWKSet, jwtVerify } from 'jose';
import { HttpClient } from './http.ts';
import { UserPicker } from './users.ts';
import { oidcSignIn } from './oidc.ts';
import { checkResponse, samlContext, samlSignIn } from './saml.ts';
import type { DriverSetup } from './protocol.ts';

function mustThrow(what: string, run: () => unknown): void {
  let threw = false;
  try {
    run();
  } catch {
    threw = true;
  }
  if (!threw) throw new Error(`driver self-check: ${what} was accepted`);
}

export async function selfCheck(setup: DriverSetup): Promise<string[]> {
  const http = new HttpClient(setup.idpUrl);
  const users = new UserPicker(setup);
  const done: string[] = [];
  try {
    if (setup.oidc) {
      const jwks = createLocalJWKSet(setup.oidc.jwks as never);
      const { record, evidence } = await oidcSignIn({ http, setup: setup.oidc, users, mfaAcr: setup.mfaAcr, jwks });
      if (!record.sessionId) throw new Error('driver self-check: the OIDC sign-in left no session cookie');
      // a token the IdP did not sign: a real one with one character of the payload changed
      const [header, payload, signature] = evidence!.idToken!.split('.');
      const forged = `${header}.${payload!.slice(0, -2)}${payload!.slice(-2) === 'AA' ? 'AB' : 'AA'}.${signature}`;
      let refused = false;
      await jwtVerify(forged, jwks, { issuer: setup.oidc.issuer, audience: setup.oidc.clientId }).catch(() => (refused = true));
      if (!refused) throw new Error('driver self-check: a forged id_token was accepted');
      done.push('oidc');
    }
    if (setup.saml) {
      const ctx = samlContext(http, setup.saml, users, setup.mfaAcr);
      const signIn = await samlSignIn(ctx);
      signIn.verify();
      const { samlResponse: encoded, requestId, receivedAt } = signIn.evidence as Required<NonNullable<typeof signIn.evidence>>;
      const xml = Buffer.from(encoded, 'base64').toString('utf8');
      const nameId = /<(?:\w+:)?NameID\b[^>]*>([^<]+)</.exec(xml)?.[1];
      if (!nameId) throw new Error('driver self-check: no NameID in the SAML response');
      mustThrow('a SAML response with a changed NameID', () => checkResponse(ctx, Buffer.from(xml.replace(`>${nameId}<`, `>x${nameId}<`)).toString('base64'), requestId, receivedAt));
      mustThrow('a SAML response for another request', () => checkResponse(ctx, encoded, '_other', receivedAt));
      mustThrow('an expired SAML assertion', () => checkResponse(ctx, encoded, requestId, receivedAt + 3_600_000));
      done.push('saml');
    }
  } finally {
    http.close();
  }
  return done;
}
