import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import { boot, type Booted } from '../helpers/boot.ts';
import { authRequest, callbackOf, createRp, createUser, isCodePage, redeem, rpBrowser, type TestRp } from '../helpers/oidc-rp.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import { ACR } from '../../src/policy/levels.ts';

const PASSWORD = 'correct horse 42';
const SECRET_KEY = randomBytes(32).toString('base64');
const CONFIG = { server: { trustedProxies: ['127.0.0.1/32'] }, trustedNetworks: { office: ['10.0.0.0/8'] } };
const OUTSIDE = { 'x-forwarded-for': '203.0.113.7' };
let now = Date.now();
const clock = { now: () => now };
let dir: string;
let app: Booted;

/** The tester's policy: an application that asks for MFA gets it; the office signs in with a password; nobody else. */
const MFA_IF_ASKED = {
  name: 'mfa-if-asked',
  rules: [
    { name: 'apps asking for MFA get it', when: { requested: ['mfa'] }, then: { effect: 'require-mfa' } },
    { name: 'office', when: { networks: ['office'] }, then: { effect: 'permit' } },
    { name: 'others', then: { effect: 'deny', message: 'Office only, or ask for MFA.' } },
  ],
};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stepgate-refresh-requested-'));
  app = await boot(CONFIG, { clock, dataDir: dir, secretKey: SECRET_KEY });
  assert.ok((await app.services.policies.save(MFA_IF_ASKED)).ok);
});
after(async () => {
  await app?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A user with TOTP signs in from outside the office, the client asking for MFA with acr_values; the tokens. */
async function mfaSignInFromOutside(rp: TestRp, username: string) {
  await createUser(app, { username, password: PASSWORD });
  const user = (await app.services.directory.findUser(username))!;
  const view = await app.services.mfa.totp.enrollment.begin({ user, sessionId: 'setup' });
  assert.ok((await app.services.mfa.totp.enrollment.finish({ user, sessionId: 'setup', ip: '127.0.0.1' }, oathtoolTotp(view.secret, now))).ok);
  now += 30_000; // codes are single use: the sign-in's code is of the next time step
  const browser = rpBrowser();
  const request = await authRequest(rp, { acr_values: ACR.mfa });
  const codePage = await browser.submit(await browser.get(request.url.toString(), { headers: OUTSIDE }), { username, password: PASSWORD }, undefined, OUTSIDE);
  assert.ok(isCodePage(codePage), `expected the code page, got ${codePage.status} ${codePage.url}\n${codePage.body.slice(0, 300)}`);
  const tokens = await redeem(rp, request, callbackOf(rp, await browser.submit(codePage, { code: oathtoolTotp(view.secret, now) }, undefined, OUTSIDE)));
  assert.equal(tokens.claims()!.acr, ACR.mfa);
  return tokens;
}

const refusedGrant = (error: oidc.ResponseBodyError) => error.error === 'invalid_grant';

describe('a refresh is judged with what the sign-in asked for', () => {
  test('an MFA sign-in that asked for MFA from outside the office refreshes, also after a restart; refused once the policy denies it', async () => {
    const rp = await createRp(app, { policy: MFA_IF_ASKED.name });
    const tokens = await mfaSignInFromOutside(rp, 'mona');
    const renewed = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!);
    assert.ok(renewed.access_token, 'the rule on what was requested decides the refresh as it decided the sign-in');

    await app.close();
    app = await boot(CONFIG, { clock, dataDir: dir, secretKey: SECRET_KEY, port: app.port });
    const afterRestart = await oidc.refreshTokenGrant(rp.config, renewed.refresh_token!);
    assert.ok(afterRestart.access_token, 'what was requested is kept with the refresh token through a restart and its rotation');

    // The policy no longer gives MFA to applications that ask: outside the office, nobody.
    assert.ok((await app.services.policies.save({ ...MFA_IF_ASKED, rules: MFA_IF_ASKED.rules.slice(1) })).ok);
    await assert.rejects(oidc.refreshTokenGrant(rp.config, afterRestart.refresh_token!), refusedGrant);
    const refusals = (await app.services.store.audit.query({ types: ['oidc.refresh'], outcome: 'failure' })).events;
    assert.deepEqual([refusals.at(-1)?.reason, refusals.at(-1)?.rp], ['policy', rp.client.id]);
  });
});
