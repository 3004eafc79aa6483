import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { boot, type Booted } from '../helpers/boot.ts';
import { createRp, createUser, rpBrowser, signIn } from '../helpers/oidc-rp.ts';
import { localUsers } from '../../src/directory/local-users.ts';

/**
 * A refresh grant judges the user as the directory has them now: a group renamed to a look-alike of
 * the one a permit rule names (`ſtaff` for `staff`) loses the access, one renamed to a look-alike of a
 * deny rule's group (`ＣＯＮＴＲＡＣＴＯＲＳ`) loses it too, and ASCII case changes nothing.
 */
const PASSWORD = 'correct horse refresh';
let app: Booted;
let now = Date.now() - 60_000;
const clock = { now: () => now };
before(async () => {
  app = await boot({}, { clock });
  for (const definition of [
    { name: 'staff-only', template: 'permit-specific-groups', parameters: { groups: ['staff'] } },
    { name: 'no-contractors', rules: [{ when: { groups: ['contractors'] }, then: { effect: 'deny' as const } }, { then: { effect: 'permit' as const } }] },
  ]) assert.ok((await app.services.policies.save(definition)).ok);
});
after(() => app?.close());

async function refreshAfterRename(policy: string, from: string, to: string): Promise<'refreshed' | 'refused'> {
  const username = `u${Math.random().toString(36).slice(2, 8)}`;
  const id = await createUser(app, { username, password: PASSWORD, groups: [from] });
  const rp = await createRp(app, { policy });
  const { tokens } = await signIn(rp, rpBrowser(), { username, password: PASSWORD });
  const users = localUsers(app.services.store);
  const record = (await users.get(id))!;
  await users.put({ ...record, groups: [to] });
  now += 11_000; // past the directory answer's reuse time (user-lookup.ts)
  try {
    await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!);
    return 'refreshed';
  } catch (error) {
    assert.match(String((error as { error?: string }).error ?? error), /invalid_grant/);
    return 'refused';
  }
}

test('staff renamed STAFF: still refreshed', async () => assert.equal(await refreshAfterRename('staff-only', 'staff', 'STAFF'), 'refreshed'));
test('staff renamed to the look-alike ſtaff: refused', async () => assert.equal(await refreshAfterRename('staff-only', 'staff', 'ſtaff'), 'refused'));
test('staff renamed to the look-alike ｓｔａｆｆ: refused', async () => assert.equal(await refreshAfterRename('staff-only', 'staff', 'ｓｔａｆｆ'), 'refused'));
test('a user moved into ＣＯＮＴＲＡＣＴＯＲＳ: refused by the deny rule for contractors', async () => assert.equal(await refreshAfterRename('no-contractors', 'staff', 'ＣＯＮＴＲＡＣＴＯＲＳ'), 'refused'));
test('control: staff renamed to another group altogether: refused', async () => assert.equal(await refreshAfterRename('staff-only', 'staff', 'other'), 'refused'));
