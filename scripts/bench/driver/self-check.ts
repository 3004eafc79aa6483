/**
 * Before any load: an OIDC sign-in and three SAML sign-ins (two users, one of them twice) from the
 * main thread, checked as the workers check them, and then the same results tampered with or offered
 * as another user's, which the checks must refuse. A verifier that accepts anything would make every
 * number of the bench meaningless.
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
      const ctx = samlContext(http, setup, users);
      // Three real, validly signed sign-ins: user a, user b, and user a again. Their deferred checks
      // (the workers' own) must accept them: a's NameID the same both times, b's another.
      const first = await samlSignIn(ctx);
      first.verify();
      const other = await samlSignIn(ctx);
      other.verify();
      const again = await samlSignIn(ctx, first.record.user);
      again.verify();
      const a = first.record.user;
      const { samlResponse: encoded, requestId, receivedAt } = first.evidence as Required<NonNullable<typeof first.evidence>>;
      const forB = other.evidence as Required<NonNullable<typeof other.evidence>>;
      const nameIdOfB = checkResponse(ctx, forB.samlResponse, forB.requestId, forB.receivedAt, other.record.user).nameId;
      mustThrow(`a validly signed SAML response for user${other.record.user} taken as user${a}'s`, () => checkResponse(ctx, forB.samlResponse, forB.requestId, forB.receivedAt, a));
      mustThrow(`user${other.record.user}'s NameID in an assertion about user${a}`, () => ctx.subjects.note(a, nameIdOfB));
      const xml = Buffer.from(encoded, 'base64').toString('utf8');
      const nameId = /<(?:\w+:)?NameID\b[^>]*>([^<]+)</.exec(xml)?.[1];
      if (!nameId) throw new Error('driver self-check: no NameID in the SAML response');
      mustThrow('a SAML response whose NameID was edited after signing', () => checkResponse(ctx, Buffer.from(xml.replace(`>${nameId}<`, `>x${nameId}<`)).toString('base64'), requestId, receivedAt, a));
      mustThrow('a SAML response for another request', () => checkResponse(ctx, encoded, '_other', receivedAt, a));
      mustThrow('an expired SAML assertion', () => checkResponse(ctx, encoded, requestId, receivedAt + 3_600_000, a));
      done.push('saml');
    }
  } finally {
    http.close();
  }
  return done;
}
