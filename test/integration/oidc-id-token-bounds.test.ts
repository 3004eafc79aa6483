import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { boot, type Booted } from '../helpers/boot.ts';
import type { Page, TestBrowser } from '../helpers/browser.ts';
import { authRequest, createRp, createUser, isPasswordPage, rpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';

/**
 * The ID Token stays usable as id_token_hint whatever the directory holds (attrs finding 2): a user
 * in hundreds of groups, or with a huge displayName, gets those claims from userinfo, and the ID
 * Token says so (OIDC Core 5.6.2 distributed claims). Local directory, openid-client as the RP.
 */
const PASSWORD = 'correct horse 42';
/** Under the end-session endpoint's 8 KiB form POST, with room for post_logout_redirect_uri and state. */
const ID_TOKEN_MAX_LENGTH = 7 * 1024;
/** Names of the usual length in Active Directory, about 30 characters. */
const groupNames = (count: number, length = 30) => Array.from({ length: count }, (_, i) => `Staff Europe ${String(i).padStart(4, '0')} `.padEnd(length, 'x'));

let app: Booted;
let rp: TestRp;

before(async () => {
  app = await boot();
  rp = await createRp(app);
});
after(() => app?.close());

const sorted = (values: readonly string[]) => [...values].sort();
const userinfoOf = (tokens: { access_token: string }, sub: string) => oidc.fetchUserInfo(rp.config, tokens.access_token, sub);

async function signInAs(user: { username: string; name?: string; email?: string; groups: string[] }, browser = rpBrowser()) {
  await createUser(app, { ...user, password: PASSWORD });
  const { tokens, claims } = await signIn(rp, browser, { username: user.username, password: PASSWORD });
  return { tokens, claims, browser };
}

/** The end-session request as the RP's own auto-submitting form would post it: cross-site, so with no cookie of Stepgate's. */
async function crossSitePost(browser: TestBrowser, url: URL): Promise<Page> {
  const response = await fetch(`${url.origin}${url.pathname}`, { method: 'POST', body: url.searchParams, redirect: 'manual' });
  assert.equal(response.status, 303, `the form POST is taken (${response.status}): ${(await response.text()).slice(0, 200)}`);
  return browser.get(new URL(response.headers.get('location')!, url).toString());
}

/** Confirms the logout page and checks the browser is back at the RP, signed out here. */
async function confirmLogout(browser: TestBrowser, confirm: Page): Promise<void> {
  assert.equal(confirm.status, 200, `expected the logout confirmation, got ${confirm.status} ${confirm.body.slice(0, 200)}`);
  assert.match(confirm.body, /<button type="submit" name="logout" value="yes">Sign out<\/button>/);
  const back = (await browser.submit(confirm, { logout: 'yes' })).headers.get('location') ?? '';
  assert.ok(back.startsWith(`${rp.postLogoutRedirectUri}?`) && back.endsWith('state=bye'), back);
  assert.ok(isPasswordPage(await browser.get((await authRequest(rp)).url.toString())), 'signed out');
}

const endSessionUrl = (idToken: string) => oidc.buildEndSessionUrl(rp.config, { id_token_hint: idToken, post_logout_redirect_uri: rp.postLogoutRedirectUri, state: 'bye' });

test('a user in more groups than oidc.idTokenMaxGroups (100) gets them from userinfo; the ID Token points there and still signs the user out, by GET and by form POST', async () => {
  const groups = groupNames(500);
  const { tokens, claims, browser } = await signInAs({ username: 'g500', name: 'Many Groups', email: 'g500@example.org', groups });
  const idToken = tokens.id_token!;
  assert.ok(idToken.length < ID_TOKEN_MAX_LENGTH, `${idToken.length} characters`);
  assert.equal(claims.groups, undefined);
  assert.deepEqual(claims._claim_names, { groups: 'userinfo' });
  assert.deepEqual(claims._claim_sources, { userinfo: { endpoint: rp.config.serverMetadata().userinfo_endpoint } });
  assert.equal(claims.name, 'Many Groups', 'the other claims stay');

  const userinfo = await userinfoOf(tokens, claims.sub);
  assert.deepEqual(sorted(userinfo.groups as string[]), sorted(groups), 'userinfo has every group');
  assert.equal(userinfo._claim_names, undefined);

  await confirmLogout(browser, await browser.get(endSessionUrl(idToken).toString()));

  const again = await signIn(rp, browser, { username: 'g500', password: PASSWORD });
  assert.equal(again.claims.groups, undefined);
  await confirmLogout(browser, await crossSitePost(browser, endSessionUrl(again.tokens.id_token!)));
});

test('up to oidc.idTokenMaxGroups groups of the usual length stay in the ID Token', async () => {
  const groups = groupNames(100);
  const { tokens, claims } = await signInAs({ username: 'g100', name: 'Hundred Groups', email: 'g100@example.org', groups });
  assert.deepEqual(sorted(claims.groups as string[]), sorted(groups));
  assert.equal(claims._claim_names, undefined);
  assert.ok(tokens.id_token!.length < ID_TOKEN_MAX_LENGTH, `${tokens.id_token!.length} characters`);
});

test('100 groups with names of 64 characters would be too large: they are left to userinfo too', async () => {
  const groups = groupNames(100, 64);
  const { tokens, claims, browser } = await signInAs({ username: 'g100long', groups });
  assert.equal(claims.groups, undefined);
  assert.deepEqual(claims._claim_names, { groups: 'userinfo' });
  assert.deepEqual(sorted((await userinfoOf(tokens, claims.sub)).groups as string[]), sorted(groups));
  await confirmLogout(browser, await crossSitePost(browser, endSessionUrl(tokens.id_token!)));
});

test('a displayName of 32,768 characters is left to userinfo; the groups stay in the ID Token, which signs the user out', async () => {
  const name = 'é'.repeat(32_768);
  const { tokens, claims, browser } = await signInAs({ username: 'longname', name, email: 'longname@example.org', groups: ['staff', 'wonderland'] });
  assert.ok(tokens.id_token!.length < ID_TOKEN_MAX_LENGTH, `${tokens.id_token!.length} characters`);
  assert.equal(claims.name, undefined);
  assert.deepEqual(claims._claim_names, { name: 'userinfo' });
  assert.deepEqual(claims.groups, ['staff', 'wonderland']);
  assert.equal((await userinfoOf(tokens, claims.sub)).name, name);
  await confirmLogout(browser, await browser.get(endSessionUrl(tokens.id_token!).toString()));
});

test('a refresh issues an ID Token bounded the same way', async () => {
  const { tokens } = await signInAs({ username: 'g150refresh', groups: groupNames(150) });
  const refreshed = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!);
  assert.equal(refreshed.claims()!.groups, undefined);
  assert.deepEqual(refreshed.claims()!._claim_names, { groups: 'userinfo' });
  assert.ok(refreshed.id_token!.length < ID_TOKEN_MAX_LENGTH);
});

test('oidc.idTokenMaxGroups sets the bound', async () => {
  const small = await boot({ oidc: { idTokenMaxGroups: 2 } });
  try {
    const smallRp = await createRp(small);
    await createUser(small, { username: 'three', password: PASSWORD, groups: ['a', 'b', 'c'] });
    const { tokens, claims } = await signIn(smallRp, rpBrowser(), { username: 'three', password: PASSWORD });
    assert.deepEqual(claims._claim_names, { groups: 'userinfo' });
    assert.deepEqual((await oidc.fetchUserInfo(smallRp.config, tokens.access_token, claims.sub)).groups, ['a', 'b', 'c']);
  } finally {
    await small.close();
  }
});
