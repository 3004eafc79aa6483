import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { boot, type Booted } from '../helpers/boot.ts';
import { ALL_SCOPES, authRequest, callbackOf, createRp, createUser, redeem, rpBrowser } from '../helpers/oidc-rp.ts';
import { clientRegistry } from '../../src/oidc/client-registry.ts';
import { localUsers } from '../../src/directory/local-users.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';

const PASSWORD = 'correct horse 42';
let now = Date.now();
const clock = { now: () => now };
let app: Booted;

before(async () => {
  app = await boot({}, { clock });
  assert.ok((await app.services.policies.save({ name: 'staff-only', template: 'permit-specific-groups', parameters: { groups: ['staff'], message: 'Staff only.' } })).ok);
});
after(() => app?.close());

async function signedIn(username: string, policy: string) {
  const rp = await createRp(app, { policy });
  const browser = rpBrowser();
  const request = await authRequest(rp, { scope: ALL_SCOPES });
  const page = await browser.submit(await browser.get(request.url.toString()), { username, password: PASSWORD });
  return { rp, tokens: await redeem(rp, request, callbackOf(rp, page)) };
}

const refusedGrant = (error: oidc.ResponseBodyError) => error.error === 'invalid_grant';

describe('refresh grants ask the access policy again', () => {
  test('a user taken out of the group the policy requires gets no new tokens', async () => {
    const id = await createUser(app, { username: 'carol', password: PASSWORD, groups: ['staff'] });
    const { rp, tokens } = await signedIn('carol', 'staff-only');
    const renewed = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!);
    assert.ok(renewed.access_token, 'still in the group: renewed');

    const users = localUsers(app.services.store);
    await users.put({ ...(await users.get(id))!, groups: [] });
    now += 11_000; // past the directory answer's reuse time
    await assert.rejects(oidc.refreshTokenGrant(rp.config, renewed.refresh_token!), refusedGrant);
    const audit = (await app.services.store.audit.query({ types: ['oidc.refresh'], outcome: 'failure' })).events;
    assert.equal(audit.at(-1)?.reason, 'policy');
    assert.equal(audit.at(-1)?.rp, rp.client.id);
  });

  test('a client moved to a policy that denies everyone gets no new tokens', async () => {
    await createUser(app, { username: 'dan', password: PASSWORD });
    const { rp, tokens } = await signedIn('dan', 'permit-everyone');
    const changed = await clientRegistry(app.services.store, app.services.box, app.services.clock).update(rp.client.id, { policy: 'deny-everyone' });
    assert.ok(changed.ok);
    await assert.rejects(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!), refusedGrant);
  });

  test('a client moved to a policy that requires MFA the session never had gets no new tokens', async () => {
    await createUser(app, { username: 'erin', password: PASSWORD });
    const { rp, tokens } = await signedIn('erin', 'permit-everyone');
    const registry = clientRegistry(app.services.store, app.services.box, app.services.clock);
    assert.ok((await registry.update(rp.client.id, { policy: 'permit-everyone-require-mfa' })).ok);
    await assert.rejects(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!), refusedGrant);
  });
});

describe('a sign-in under way is decided by the policy its application has when it decides', () => {
  test('a client moved to an MFA policy while its user is at the password page asks for the second factor', async () => {
    await createUser(app, { username: 'fay', password: PASSWORD });
    const rp = await createRp(app, { policy: 'permit-everyone' });
    const browser = rpBrowser();
    const request = await authRequest(rp, { scope: ALL_SCOPES });
    const passwordPage = await browser.get(request.url.toString());
    assert.ok((await clientRegistry(app.services.store, app.services.box, app.services.clock).update(rp.client.id, { policy: 'permit-everyone-require-mfa' })).ok);
    const next = await browser.submit(passwordPage, { username: 'fay', password: PASSWORD });
    assert.doesNotMatch(next.url, /^http:\/\/127\.0\.0\.1:9\//, `no code for the client without the second factor, got ${next.url}`);
    assert.match(next.body, /Set up your authenticator app/, 'the user without a second factor is led to set one up');
  });

  test('a client removed while its user is at the password page gets no sign-in', async () => {
    await createUser(app, { username: 'gus', password: PASSWORD });
    const rp = await createRp(app, { policy: 'permit-everyone' });
    const browser = rpBrowser();
    const request = await authRequest(rp, { scope: ALL_SCOPES });
    const passwordPage = await browser.get(request.url.toString());
    assert.ok(await clientRegistry(app.services.store, app.services.box, app.services.clock).remove(rp.client.id));
    const next = await browser.submit(passwordPage, { username: 'gus', password: PASSWORD });
    assert.equal(next.status, 400);
    assert.match(next.body, /not registered/);
    const { events } = await app.services.store.audit.query({ types: ['oidc.sign-in'], outcome: 'failure', limit: 100 });
    assert.deepEqual(events.filter((event) => event.rp === rp.client.id).map((event) => event.reason), ['rp-removed'], 'the refusal is audited');
  });

  test('a client moved to deny-everyone while its user types the code: the refusal of the policy, not "sign-in expired"', async () => {
    await createUser(app, { username: 'hal', password: PASSWORD });
    const rp = await createRp(app, { policy: 'permit-everyone-require-mfa' });
    const browser = rpBrowser();
    const request = await authRequest(rp, { scope: ALL_SCOPES });
    const setup = await browser.submit(await browser.get(request.url.toString()), { username: 'hal', password: PASSWORD });
    const secret = /<code id="totp-secret">([A-Z2-7 ]+)<\/code>/.exec(setup.body)![1]!.replace(/ /g, '');
    assert.ok((await clientRegistry(app.services.store, app.services.box, app.services.clock).update(rp.client.id, { policy: 'deny-everyone' })).ok);
    const answer = await browser.submit(setup, { code: oathtoolTotp(secret, now) });
    assert.equal(answer.status, 403);
    // A rule without the administrator's own words names the application and says whom to ask.
    assert.ok(answer.body.includes(`You are not allowed to use ${rp.client.name}. If you need it, ask your helpdesk for access.`), answer.body);
  });

  test('a client allowed to let users change an expired password while its user is at the password page offers the change', async () => {
    const id = await createUser(app, { username: 'ivy', password: PASSWORD });
    const users = localUsers(app.services.store);
    await users.put({ ...(await users.get(id))!, mustChangePassword: true });
    const rp = await createRp(app, { policy: 'permit-everyone' });
    const browser = rpBrowser();
    const request = await authRequest(rp, { scope: ALL_SCOPES });
    const passwordPage = await browser.get(request.url.toString());
    assert.ok((await clientRegistry(app.services.store, app.services.box, app.services.clock).update(rp.client.id, { allowPasswordChange: true })).ok);
    const next = await browser.submit(passwordPage, { username: 'ivy', password: PASSWORD });
    assert.match(next.body, /Change your password/, `got ${next.status}: ${next.body.slice(0, 200)}`);
  });
});
