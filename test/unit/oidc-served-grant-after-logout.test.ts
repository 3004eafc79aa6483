import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { default as Provider, KoaContextWithOIDC } from 'oidc-provider';
import { confirmServedPlaces } from '../../src/oidc/served-clients.ts';
import { loadOrCreateGrant } from '../../src/oidc/grants.ts';

/**
 * A code issued writes its grant before the answer goes out, unless the provider session ended while
 * the request was under way (a logout in another tab): the session's save was dropped and its grants
 * revoked (session-adapter.ts), and a grant written after that would let the code be exchanged for
 * tokens of a session that no longer exists.
 */
async function issueCode(ended: boolean): Promise<string[]> {
  const written: string[] = [];
  class FakeGrant {
    jti?: string;
    static async find(): Promise<undefined> {
      return undefined;
    }
    getOIDCScopeEncountered(): string {
      return '';
    }
    getOIDCClaimsEncountered(): string[] {
      return [];
    }
    addOIDCScope(): void {}
    addOIDCClaims(): void {}
    async save(): Promise<void> {
      written.push(this.jti!);
    }
  }
  const listeners = new Map<string, (ctx: KoaContextWithOIDC) => void>();
  const provider = { on: (event: string, listener: (ctx: KoaContextWithOIDC) => void) => void listeners.set(event, listener) } as unknown as Provider;
  const ctx = {
    oidc: {
      provider: { Grant: FakeGrant },
      client: { clientId: 'app', scope: 'openid' },
      account: { accountId: 'alice' },
      session: { uid: 'u1', grantIdFor: () => undefined, authorizations: { app: {} } },
      requestParamOIDCScopes: new Set(['openid']),
      requestParamClaims: new Set<string>(),
    },
  } as unknown as KoaContextWithOIDC & { oidc: { grant?: unknown } };
  const served = confirmServedPlaces(provider, { ended: async (uid) => ended && uid === 'u1' });
  await served(ctx, async () => {
    ctx.oidc.grant = await loadOrCreateGrant(ctx);
    listeners.get('authorization.success')!(ctx);
  });
  return written;
}

test('a code issued in a live session writes its new grant', async () => {
  assert.equal((await issueCode(false)).length, 1);
});

test('a code issued in a session that ended while the request was under way writes no grant', async () => {
  assert.deepEqual(await issueCode(true), []);
});
