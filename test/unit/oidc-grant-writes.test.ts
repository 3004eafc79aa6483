import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { loadOrCreateGrant, saveUnsavedGrant } from '../../src/oidc/grants.ts';

/**
 * The grant oidc-provider asks for at an authorization request (loadExistingGrant) is made before
 * Stepgate's login checks and policy run: it is written only when a code follows (served-clients.ts
 * calls saveUnsavedGrant), and then only if the request made or widened it. A stand-in for
 * oidc-provider's Grant model records each save, so what is written, and when, can be counted.
 */
class FakeGrant {
  static stored = new Map<string, FakeGrant>();
  static saves: string[] = [];
  static async find(id: string): Promise<FakeGrant | undefined> {
    return FakeGrant.stored.get(id);
  }
  jti: string | undefined;
  accountId: string;
  clientId: string;
  scopes = new Set<string>();
  claims = new Set<string>();
  constructor({ accountId, clientId }: { accountId: string; clientId: string }) {
    this.accountId = accountId;
    this.clientId = clientId;
  }
  getOIDCScopeEncountered(): string {
    return [...this.scopes].join(' ');
  }
  getOIDCClaimsEncountered(): string[] {
    return [...this.claims];
  }
  addOIDCScope(scope: string): void {
    for (const one of scope.split(' ')) this.scopes.add(one);
  }
  addOIDCClaims(claims: string[]): void {
    for (const claim of claims) this.claims.add(claim);
  }
  async save(): Promise<string> {
    FakeGrant.saves.push(this.jti!);
    FakeGrant.stored.set(this.jti!, this);
    return this.jti!;
  }
}

/** The parts of oidc-provider's context loadOrCreateGrant reads: an authorization request of `accountId` at client `app`. */
function request(accountId: string, scopes: string[], grantId?: string, claims: string[] = []): KoaContextWithOIDC {
  return {
    oidc: {
      provider: { Grant: FakeGrant },
      client: { clientId: 'app', scope: 'openid profile email' },
      account: { accountId },
      session: { grantIdFor: () => grantId },
      requestParamOIDCScopes: new Set(scopes),
      requestParamClaims: new Set(claims),
    },
  } as unknown as KoaContextWithOIDC;
}

test('a new grant gets an id of 256 random bits at once, and is written only when its code is issued, once', async () => {
  FakeGrant.saves = [];
  const first = await loadOrCreateGrant(request('alice', ['openid', 'profile']));
  const second = await loadOrCreateGrant(request('bob', ['openid']));
  for (const grant of [first, second]) assert.match(grant.jti!, /^[A-Za-z0-9_-]{43}$/, 'as oidc-provider makes its own ids: 32 bytes, base64url');
  assert.notEqual(first.jti, second.jti);
  assert.deepEqual(FakeGrant.saves, [], 'nothing written while the login checks and the policy have not decided');
  await saveUnsavedGrant(first);
  await saveUnsavedGrant(first);
  assert.deepEqual(FakeGrant.saves, [first.jti], 'written once, for the code issued from it');
});

test("an existing grant that the request adds nothing to is not written again; one it widens is; another account's is never reused", async () => {
  FakeGrant.saves = [];
  const made = await loadOrCreateGrant(request('carol', ['openid', 'profile']));
  await saveUnsavedGrant(made);
  FakeGrant.saves = [];

  const same = await loadOrCreateGrant(request('carol', ['openid'], made.jti));
  assert.equal(same, made, 'the stored grant, reused');
  await saveUnsavedGrant(same);
  assert.deepEqual(FakeGrant.saves, [], 'an SSO reuse that asks for nothing new writes nothing');

  const widened = await loadOrCreateGrant(request('carol', ['openid', 'email'], made.jti));
  assert.equal(widened, made);
  await saveUnsavedGrant(widened);
  assert.deepEqual(FakeGrant.saves, [made.jti], 'a new scope is written');

  const otherAccount = await loadOrCreateGrant(request('mallory', ['openid'], made.jti));
  assert.notEqual(otherAccount, made, "the grant of carol is not given to another account's request");
  assert.equal(otherAccount.accountId, 'mallory');
  assert.notEqual(otherAccount.jti, made.jti);
});

test('claims asked for by name are granted only within the scopes the client may ask for', async () => {
  const grant = (await loadOrCreateGrant(request('dave', ['openid'], undefined, ['email', 'groups']))) as unknown as FakeGrant;
  assert.ok(grant.claims.has('email'));
  assert.ok(!grant.claims.has('groups'), 'the client may not ask for the groups scope, so not for its claim either');
});
