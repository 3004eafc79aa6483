import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { User } from '../../src/core/types.ts';
import { SecretBox } from '../../src/core/secret-box.ts';
import { DEFAULT_SAML_ATTRIBUTES, isReleasableValue, oidcClaims, samlAttributes } from '../../src/rp/claims.ts';
import { isPlausibleEmail } from '../../src/core/email-address.ts';
import { nameIdValue } from '../../src/saml/name-id.ts';
import { SCOPE_CLAIMS } from '../../src/oidc/claims.ts';
import { DIRECTORY_CLAIMS_MAX_BYTES, grantedClaims, idTokenClaims } from '../../src/oidc/id-token-claims.ts';
import type { ServiceProviderRecord } from '../../src/saml/sp-types.ts';
import { accountFinder } from '../../src/oidc/account.ts';
import type { UserLookup } from '../../src/directory/user-lookup.ts';
import { ConfigError, parseConfig } from '../../src/config/load.ts';
import type { KoaContextWithOIDC } from 'oidc-provider';

const ALL_SCOPES = new Set(Object.keys(SCOPE_CLAIMS));
const USERINFO = 'https://idp.example/oidc/me';
const user = (changes: Partial<User> = {}): User => ({ id: 'u-1', username: 'alice', name: 'Alice Liddell', email: 'alice@example.org', groups: ['staff'], attributes: {}, ...changes });
const everything = grantedClaims({ scope: 'openid profile email groups', claims: {}, rejected: [] });

describe('what a relying party is given of a directory value (SAML and OIDC alike)', () => {
  test('control characters other than TAB, LF and CR (C0, DEL, C1), text-direction overrides and isolates, U+2028, U+FFFE/U+FFFF and lone surrogates are never released', () => {
    for (const value of ['a\u0000b', 'ctl\u0001grp', 'bell\u0007', 'esc\u001b', 'del\u007f', 'c1\u0085', 'c1\u009f', 'line\u2028separator', 'Mallory \u202eecila', 'rtl \u202e', 'isolate \u2066x\u2069', 'x\ufffe', 'x\uffff', 'lone\ud800', 'lone\udc00x']) {
      assert.equal(isReleasableValue(value), false, JSON.stringify(value));
    }
    for (const value of ['  lead\r\nline2\tTab trail  ', 'Grüppe Ünïcödé', 'emoji 👩‍💻', 'mark \u200f', 'R&D, <Europe>', '\u00a0nbsp', '\u00a1', 'paragraph\u2029separator', 'astral 𝔘']) {
      assert.equal(isReleasableValue(value), true, JSON.stringify(value));
    }
  });

  test('an email is released only when shaped like an address: one "@" between non-empty parts, no whitespace or invisible character, at most 254 characters', () => {
    for (const value of ['alice@example.org', 'a@b', 'o\'brien+tag@xn--mller-kva.example', 'jürgen@müller.example', `${'l'.repeat(64)}@${'d'.repeat(189)}`]) {
      assert.equal(isPlausibleEmail(value), true, JSON.stringify(value));
    }
    for (const value of [' ws@example.org ', 'ws@example.org ', '\tws@example.org', 'a b@example.org', 'a@exa mple.org', 'a@b\n', 'al\u200bice@example.org', 'alice@example.org\u202e', 'alice@exa\u034fmple.org', 'alice\ufe0f@example.org', '\u3164alice@example.org', 'alice@example\u115f.org', 'no-at.example.org', '@example.org', 'alice@', 'a@b@c', '', `${'l'.repeat(64)}@${'d'.repeat(190)}`]) {
      assert.equal(isPlausibleEmail(value), false, JSON.stringify(value));
    }
  });

  test('OIDC claims leave out such values and name the claims they were left out of; the rest is released', () => {
    const released = oidcClaims(user({ username: 'alice', name: 'nul\u0000x', email: ' ws@example.org ', groups: ['ok', 'ctl\u0001grp', 'c1\u0085grp'] }), ALL_SCOPES);
    assert.deepEqual(released.claims, { preferred_username: 'alice', groups: ['ok'] });
    assert.deepEqual(released.leftOut, ['name', 'email', 'groups']);
    const mail = oidcClaims(user({ email: 'ctl\u0001@example.org' }), ALL_SCOPES);
    assert.equal(mail.claims.email, undefined);
    assert.equal(mail.claims.email_verified, undefined, 'no email_verified without an email');
    assert.deepEqual(mail.leftOut, ['email']);
    const plain = oidcClaims(user(), ALL_SCOPES);
    assert.deepEqual(plain.claims, { preferred_username: 'alice', name: 'Alice Liddell', email: 'alice@example.org', email_verified: false, groups: ['staff'] });
    assert.deepEqual(plain.leftOut, []);
    assert.deepEqual(oidcClaims(user({ name: undefined, email: undefined }), ALL_SCOPES).leftOut, [], 'a value the user does not have is not one left out');
    const lookalike = oidcClaims(user({ name: 'Mallory \u202eecila' }), ALL_SCOPES);
    assert.equal(lookalike.claims.name, undefined, 'a name that would read as another user\'s (an import an earlier version wrote) is not released');
    assert.deepEqual(lookalike.leftOut, ['name']);
    assert.deepEqual(samlAttributes(user({ name: 'Mallory \u202eecila' }), DEFAULT_SAML_ATTRIBUTES).find((attribute) => attribute.friendlyName === 'displayName')?.values.filter(isReleasableValue) ?? [], []);
  });

  test('an email not shaped like an address is neither the mail attribute nor the emailAddress NameID', () => {
    const sp = { id: 'https://sp.example/metadata' } as ServiceProviderRecord;
    const box = new SecretBox(Buffer.alloc(32, 7));
    const spaced = user({ email: ' ws@example.org ' });
    assert.equal(nameIdValue('email', spaced, sp, box), undefined);
    assert.equal(nameIdValue('email', user({ email: 'a@b@c' }), sp, box), undefined);
    assert.equal(nameIdValue('email', user(), sp, box), 'alice@example.org');
    assert.deepEqual(samlAttributes(spaced, DEFAULT_SAML_ATTRIBUTES).map((attribute) => attribute.friendlyName), ['uid', 'displayName', 'isMemberOf']);
  });
});

describe('the ID Token share of the claims (userinfo keeps them all)', () => {
  const groups = (count: number, length = 30) => Array.from({ length: count }, (_, i) => `Group ${String(i).padStart(4, '0')} `.padEnd(length, 'x'));

  test('groups beyond maxGroups are left to userinfo, with a distributed-claims pointer (OIDC Core 5.6.2)', () => {
    const { claims } = oidcClaims(user({ groups: groups(6) }), ALL_SCOPES);
    assert.deepEqual(idTokenClaims(claims, everything, { maxGroups: 6 }, USERINFO), claims, 'at the limit: all in the ID Token');
    const bounded = idTokenClaims(claims, everything, { maxGroups: 5 }, USERINFO);
    const { groups: _inUserinfo, ...rest } = claims;
    assert.deepEqual(bounded, { ...rest, _claim_names: { groups: 'userinfo' }, _claim_sources: { userinfo: { endpoint: USERINFO } } });
    assert.deepEqual(Object.keys(idTokenClaims(claims, everything, { maxGroups: 0 }, USERINFO)._claim_names as object), ['groups'], 'maxGroups 0: groups only at userinfo');
  });

  test('claims read from the directory take at most DIRECTORY_CLAIMS_MAX_BYTES: the largest is left to userinfo first', () => {
    const longName = oidcClaims(user({ name: 'é'.repeat(32_768), groups: groups(40) }), ALL_SCOPES).claims;
    const bounded = idTokenClaims(longName, everything, { maxGroups: 100 }, USERINFO);
    assert.equal(bounded.name, undefined);
    assert.deepEqual(bounded.groups, longName.groups, 'the groups fit once the name is left out');
    assert.deepEqual(bounded._claim_names, { name: 'userinfo' });

    const longGroups = oidcClaims(user({ groups: groups(100, 64) }), ALL_SCOPES).claims;
    const withinCount = idTokenClaims(longGroups, everything, { maxGroups: 100 }, USERINFO);
    assert.deepEqual(withinCount._claim_names, { groups: 'userinfo' }, '100 names of 64 characters are over the bytes');
    assert.equal(withinCount.name, 'Alice Liddell');

    const everythingLong = oidcClaims(user({ name: 'n'.repeat(3000), username: 'u'.repeat(3000), groups: groups(100, 64) }), ALL_SCOPES).claims;
    const left = idTokenClaims(everythingLong, everything, { maxGroups: 100 }, USERINFO);
    assert.deepEqual(Object.keys(left._claim_names as object), ['groups', 'name']);
    const kept = ['name', 'preferred_username', 'email', 'groups'].reduce((sum, claim) => sum + (left[claim] === undefined ? 0 : Buffer.byteLength(JSON.stringify(left[claim]))), 0);
    assert.ok(kept <= DIRECTORY_CLAIMS_MAX_BYTES, `${kept} bytes`);
  });

  test('only claims the client was granted count, and only they are pointed to', () => {
    const { claims } = oidcClaims(user({ name: 'n'.repeat(3000), groups: groups(200) }), ALL_SCOPES);
    const profileOnly = idTokenClaims(claims, grantedClaims({ scope: 'openid profile', claims: {}, rejected: [] }), { maxGroups: 100 }, USERINFO);
    assert.deepEqual(profileOnly, { preferred_username: 'alice', name: 'n'.repeat(3000) }, 'groups not granted: the name fits');
    const asked = grantedClaims({ scope: 'openid', claims: { groups: null }, rejected: [] });
    assert.deepEqual(idTokenClaims(claims, asked, { maxGroups: 100 }, USERINFO), { groups: claims.groups }, 'asked for the ID Token only (claims parameter): userinfo would not release it, so it stays, whatever its size');
    const alsoScope = grantedClaims({ scope: 'openid groups', claims: { groups: null }, rejected: [] });
    assert.deepEqual(idTokenClaims(claims, alsoScope, { maxGroups: 100 }, USERINFO), { _claim_names: { groups: 'userinfo' }, _claim_sources: { userinfo: { endpoint: USERINFO } } }, 'with the scope too, userinfo releases it');
    const refused = grantedClaims({ scope: 'openid profile', claims: { name: null }, rejected: ['name'] });
    assert.deepEqual([refused.idToken.has('name'), refused.userinfo.has('name')], [false, false]);
  });

  test('the account gives the ID Token its bounded share and userinfo every group', async () => {
    const lookup = { find: async () => user({ groups: ['a', 'b', 'c'] }) } as unknown as UserLookup;
    const ctx = { oidc: { route: 'token', urlFor: (route: string) => (route === 'userinfo' ? USERINFO : undefined) }, req: {} } as unknown as KoaContextWithOIDC;
    const account = (await accountFinder(lookup, async () => true, undefined, { maxGroups: 2 })(ctx, 'u-1'))!;
    assert.deepEqual(await account.claims('id_token', 'openid groups', {}, []), { sub: 'u-1', _claim_names: { groups: 'userinfo' }, _claim_sources: { userinfo: { endpoint: USERINFO } } });
    assert.deepEqual((await account.claims('userinfo', 'openid groups', {}, [])).groups, ['a', 'b', 'c']);
  });

  test('oidc.idTokenMaxGroups: 100 unless configured, 0 or more', () => {
    assert.equal(parseConfig({}).oidc.idTokenMaxGroups, 100);
    assert.equal(parseConfig({ oidc: { idTokenMaxGroups: 0 } }).oidc.idTokenMaxGroups, 0);
    for (const idTokenMaxGroups of [-1, 1.5]) {
      assert.throws(() => parseConfig({ oidc: { idTokenMaxGroups } }), (error: Error) => error instanceof ConfigError && /oidc\.idTokenMaxGroups/.test(error.message), String(idTokenMaxGroups));
    }
  });
});
