import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { AdapterPayload, ClientAuthorizationState } from 'oidc-provider';
import { KvAdapter } from '../../src/oidc/adapter.ts';
import { SessionAdapter } from '../../src/oidc/session-adapter.ts';
import { withProviderSession } from '../helpers/oidc-session-fixture.ts';

/**
 * oidc-provider loads the provider session at the start of a request and saves all of it at the end.
 * Requests of one browser that overlap (two tabs) must each keep what the other stored meanwhile,
 * and still have their own changes, removals included, stored.
 */
type Places = Record<string, ClientAuthorizationState>;

/** One request: the session as oidc-provider loads it; `save` writes it back as oidc-provider does (same places object, new payload). */
async function load(sessions: SessionAdapter, id = 's1') {
  const loaded = (await sessions.find(id))!;
  const places = loaded.authorizations as Places;
  return {
    places,
    save: (asId = id) => sessions.upsert(asId, { ...loaded, jti: asId, authorizations: places }, 600),
  };
}

const stored = async (raw: KvAdapter, id = 's1') => ((await raw.findByUid('u1'))?.jti === id ? ((await raw.find(id))?.authorizations as Places | undefined) : undefined);
const clientsIn = (places: Places | undefined) => Object.keys(places ?? {}).sort();

describe('saves of one provider session by overlapping requests', () => {
  test('two requests that loaded the same session each add a client: both places are stored, saved together or one after the other', () =>
    withProviderSession(async ({ sessions, raw }) => {
      const [tabA, tabB] = [await load(sessions), await load(sessions)];
      tabA.places.a = { sid: 'sid-a', grantId: 'g-a' };
      tabB.places.b = { sid: 'sid-b', grantId: 'g-b' };
      await Promise.all([tabA.save(), tabB.save()]);
      assert.deepEqual(clientsIn(await stored(raw)), ['a', 'b', 'first']);

      const [tabC, tabD] = [await load(sessions), await load(sessions)];
      tabC.places.c = { sid: 'sid-c', grantId: 'g-c' };
      tabD.places.d = { sid: 'sid-d', grantId: 'g-d' };
      await tabC.save();
      await tabD.save();
      assert.deepEqual(clientsIn(await stored(raw)), ['a', 'b', 'c', 'd', 'first']);
    }));

  test("a place another request changed meanwhile keeps that change; a place this request changed or removed is stored so", () =>
    withProviderSession(async ({ sessions, raw }) => {
      const [renewing, other] = [await load(sessions), await load(sessions)];
      renewing.places.first!.grantId = 'g-first-renewed';
      other.places.b = { sid: 'sid-b', grantId: 'g-b' };
      await renewing.save();
      await other.save();
      assert.equal((await stored(raw))?.first?.grantId, 'g-first-renewed', 'the stale copy of the place does not undo the new grant');

      const [leaving, adding] = [await load(sessions), await load(sessions)];
      delete leaving.places.b;
      adding.places.c = { sid: 'sid-c', grantId: 'g-c' };
      await adding.save();
      await leaving.save();
      assert.deepEqual(clientsIn(await stored(raw)), ['c', 'first'], 'the removal stands and the added place stays');

      const [removing, late] = [await load(sessions), await load(sessions)];
      delete removing.places.c;
      late.places.d = { sid: 'sid-d', grantId: 'g-d' };
      await removing.save();
      await late.save();
      assert.deepEqual(clientsIn(await stored(raw)), ['d', 'first'], 'a removal saved first is not undone by the copy the later save loaded');
    }));

  test('a removed client is left out at load and not written back; a session saved under a new cookie id keeps what was saved under the old one meanwhile', () =>
    withProviderSession(async ({ sessions, raw, revocations }) => {
      const served = await load(sessions);
      served.places.gone = { sid: 'sid-gone', grantId: 'g-gone' };
      await served.save();
      await revocations.record('gone');
      const [rotating, staying] = [await load(sessions), await load(sessions)];
      assert.deepEqual(clientsIn(rotating.places), ['first']);
      rotating.places.a = { sid: 'sid-a', grantId: 'g-a' };
      staying.places.b = { sid: 'sid-b', grantId: 'g-b' };
      // oidc-provider's rotation at a sign-in: the old id destroyed, the session saved under a new one.
      await sessions.destroy('s1');
      await rotating.save('s2');
      await staying.save();
      assert.deepEqual(clientsIn(await stored(raw)), ['a', 'b', 'first'], 'the session the uid leads to has every place, none of the removed client');
    }));

  test("another account's session stored under the uid is not merged from", () =>
    withProviderSession(async ({ sessions, raw }) => {
      const tab = await load(sessions);
      await raw.upsert('s1', { jti: 's1', uid: 'u1', accountId: 'mallory', authorizations: { hers: { sid: 'sid-hers' } } }, 600);
      tab.places.a = { sid: 'sid-a', grantId: 'g-a' };
      await tab.save();
      assert.deepEqual(clientsIn(await stored(raw)), ['a', 'first']);
      assert.equal(((await raw.find('s1')) as AdapterPayload).accountId, 'alice');
    }));
});
