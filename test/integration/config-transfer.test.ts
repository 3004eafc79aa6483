import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import * as jose from 'jose';
import * as oidc from 'openid-client';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { createRp, rpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';
import { TestSp, isPasswordPage, samlPostForm, sendAuthnRequest } from '../helpers/saml-sp.ts';
import { until } from '../helpers/until.ts';
import { runCli } from '../../src/cli/run-cli.ts';
import { configCommands } from '../../src/cli/commands/config.ts';
import { parseConfig } from '../../src/config/load.ts';
import { SecretBox } from '../../src/core/secret-box.ts';
import { systemClock } from '../../src/core/clock.ts';
import { openWithPassword, sealWithPassword } from '../../src/core/password-envelope.ts';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import { journalSealer } from '../../src/store/journal-sealer.ts';
import { clientRegistry } from '../../src/oidc/client-registry.ts';
import { CONFIG_EXPORT } from '../../src/config-transfer/config-payload.ts';
import { userInfo } from 'node:os';

// A suite run through sudo: the CLI would add who ran sudo (sudoUser) to the events these tests expect in full.
delete process.env['SUDO_USER'];
delete process.env['SUDO_UID'];

const USER_PASSWORD = 'Correct-horse-42';
const EXPORT_PASSWORD = 'a long export passphrase';

/** One Stepgate server on its data directory. */
interface Installation {
  app: Booted;
  secretKey: string;
}

let source: Installation;
let target: Installation;
let rp: TestRp;
let sp: TestSp;
let work: string;
let exportFile: string;
let passwordFile: string;
/** The kid of the source's ID Tokens, and its JWKS: relying parties keep both after the move. */
let sourceKid: string;
let sourceJwks: jose.JSONWebKeySet;
/** The target's own keys, made at its first start. */
let targetKeyIds: string[];

async function installation(secretKey: string, overrides: Parameters<typeof boot>[0] = {}): Promise<Installation> {
  return { app: await boot(overrides, { secretKey }), secretKey };
}

/** The admin CLI in its own process's store on the installation's data directory, as `npm run cli` opens it. */
async function cli(at: Installation, ...words: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const config = parseConfig({ dataDir: at.app.dataDir, secretKey: at.secretKey, server: { publicUrl: at.app.url } });
  const store = await new LowdbStore(at.app.dataDir, systemClock, { sealer: journalSealer(at.app.services.box), owner: false }).open();
  const code = await runCli(configCommands, ['config', ...words], {
    config: () => config,
    store: async () => store,
    box: () => new SecretBox(Buffer.from(at.secretKey, 'base64')),
    clock: systemClock,
    out: (line) => out.push(line),
    err: (line) => err.push(line),
  }).finally(() => store.close());
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const dbJson = (at: Installation) => readFile(join(at.app.dataDir, 'db.json'), 'utf8');
const auditEvents = async (at: Installation, type: string) =>
  (await readFile(join(at.app.dataDir, 'audit.log'), 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((event) => event.type === type);

/** Runs an import that must be refused, and checks that it wrote no record. */
async function refusedWithoutWriting(file: string, message: RegExp, passwordPath = passwordFile): Promise<string> {
  const before = await dbJson(target);
  const result = await cli(target, 'import', '--in', file, '--password-file', passwordPath);
  assert.equal(result.code, 1, `expected a refusal, got: ${result.out}`);
  assert.match(result.err, message);
  assert.match(result.err, /not imported \(nothing was changed\)/);
  assert.equal(await dbJson(target), before, 'db.json is unchanged');
  return result.err;
}

/** Loosely typed on purpose: the tests change the payload as a broken tool or someone holding the password could. */
type Payload = Record<string, any>;

/** The export file with its payload changed, sealed again with the right password (what someone holding the password could make). */
async function variant(change: (payload: Payload) => void): Promise<string> {
  const payload = openWithPassword(await readFile(exportFile, 'utf8'), EXPORT_PASSWORD, CONFIG_EXPORT) as Payload;
  change(payload);
  const file = join(work, `variant-${randomBytes(4).toString('hex')}.json`);
  await writeFile(file, sealWithPassword(payload, EXPORT_PASSWORD, CONFIG_EXPORT));
  return file;
}

/** The same salt and key under other scrypt settings, as a tool or someone holding the password could write them. */
function withScryptSettings(hash: string, settings: string): string {
  const [scheme, , , , salt, key] = hash.split('$');
  return [scheme, settings, salt, key].join('$');
}

/** The source's relying party, pointed at another installation: same client_id and secret, its own discovery. */
async function sameRpAt(app: Booted): Promise<TestRp> {
  const config = await oidc.discovery(new URL(app.url), rp.client.id, { id_token_signed_response_alg: rp.client.idTokenSignedResponseAlg }, oidc.ClientSecretBasic(rp.secret!), { execute: [oidc.allowInsecureRequests] });
  return { ...rp, config };
}

/**
 * The running server has read what the CLI wrote: it looks at db.json (and its key service at the
 * keys) at most once a second, so this reads through the server's own services until `ok` holds.
 */
function serverSees<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string): Promise<T> {
  return until(read, ok, `the running server to see ${what}`);
}

async function jwksOf(app: Booted): Promise<jose.JSONWebKeySet> {
  return (await (await fetch(`${app.url}/oidc/jwks`)).json()) as jose.JSONWebKeySet;
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'stepgate-config-transfer-'));
  exportFile = join(work, 'stepgate-config.json');
  passwordFile = join(work, 'export.pw');
  await writeFile(passwordFile, `${EXPORT_PASSWORD}\n`);

  source = await installation(randomBytes(32).toString('base64'));
  await addLocalUser(source.app.services, 'alice', USER_PASSWORD, { addGroups: ['staff'] });
  assert.ok((await source.app.services.policies.save({ name: 'staff-only', template: 'permit-specific-groups', parameters: { groups: ['staff'] } })).ok);
  rp = await createRp(source.app, { policy: 'staff-only' });
  assert.ok(rp.secret, 'a confidential client');
  sp = await TestSp.create(source.app, { name: 'moved', register: { policy: 'staff-only' } });
  const { tokens } = await signIn(rp, rpBrowser(), { username: 'alice', password: USER_PASSWORD });
  sourceJwks = await jwksOf(source.app);
  sourceKid = (await jose.jwtVerify(tokens.id_token!, jose.createLocalJWKSet(sourceJwks), { issuer: source.app.url, audience: rp.client.id })).protectedHeader.kid!;

  // Another secret key; the SAML entityID moves with the IdP (SPs know the IdP by it), the URL does not matter here.
  target = await installation(randomBytes(32).toString('base64'), { saml: { entityId: `${source.app.url}/saml/metadata` } });
  targetKeyIds = (await target.app.services.keys.all()).map((key) => key.id);
});

after(async () => {
  await source?.app.close();
  await target?.app.close();
  if (work) await rm(work, { recursive: true, force: true });
});

test('config export writes one private file, encrypted; a short password and an existing file are refused', async () => {
  const sourceBefore = await dbJson(source);
  const shortPassword = join(work, 'short.pw');
  await writeFile(shortPassword, 'elevenchars\n');
  const short = await cli(source, 'export', '--out', exportFile, '--password-file', shortPassword);
  assert.equal(short.code, 2);
  assert.match(short.err, /the password must have at least 12 characters/);
  assert.equal(existsSync(exportFile), false, 'no file written');

  const exported = await cli(source, 'export', '--out', exportFile, '--password-file', passwordFile);
  assert.equal(exported.code, 0, exported.err);
  assert.equal(exported.out, `Exported 1 SAML SP, 1 OIDC client, 1 custom policy, 2 signing keys, 1 local user to ${exportFile}.`);
  assert.equal((await stat(exportFile)).mode & 0o777, 0o600);
  const text = await readFile(exportFile, 'utf8');
  for (const clear of [rp.secret!, 'PRIVATE KEY', 'scrypt$', 'alice', 'staff-only', sp.entityId]) assert.equal(text.includes(clear), false, `${clear} is not in the file in clear`);

  const again = await cli(source, 'export', '--out', exportFile, '--password-file', passwordFile);
  assert.equal(again.code, 1);
  assert.match(again.err, /exists; give --force to overwrite it/);
  assert.equal(await readFile(exportFile, 'utf8'), text, 'the existing file is kept');

  await chmod(exportFile, 0o644);
  const forced = await cli(source, 'export', '--out', exportFile, '--password-file', passwordFile, '--force', '--quiet');
  assert.deepEqual([forced.code, forced.out, forced.err], [0, '', '']);
  assert.notEqual(await readFile(exportFile, 'utf8'), text, 'written again (new salt and IV)');
  assert.equal((await stat(exportFile)).mode & 0o777, 0o600, 'an overwritten file is private too');

  assert.equal(await dbJson(source), sourceBefore, 'exporting changes no record');
  const events = await auditEvents(source, 'config.export');
  assert.deepEqual(events.map((event) => event.outcome), ['success', 'failure', 'success'], 'the refused overwrite is on record too');
  assert.equal(events[1]!.reason, `${exportFile} exists; give --force to overwrite it`);
  assert.deepEqual({ ...events[2], at: undefined, commandId: undefined }, { at: undefined, commandId: undefined, type: 'config.export', outcome: 'success', via: 'cli', osUser: userInfo().username, file: exportFile, policies: 1, samlServiceProviders: 1, oidcClients: 1, signingKeys: 2, localUsers: 1 });
});

test('import refuses a wrong password, an altered file, another format or version, writing nothing', async () => {
  const wrongPassword = join(work, 'wrong.pw');
  await writeFile(wrongPassword, 'another long passphrase\n');
  await refusedWithoutWriting(exportFile, /the password is wrong or the file was altered/, wrongPassword);

  const envelope = JSON.parse(await readFile(exportFile, 'utf8'));
  const data = Buffer.from(envelope.data, 'base64');
  data[100] = data[100]! ^ 0x20;
  const altered = join(work, 'altered.json');
  await writeFile(altered, JSON.stringify({ ...envelope, data: data.toString('base64') }));
  await refusedWithoutWriting(altered, /the password is wrong or the file was altered/);

  const totpExport = join(work, 'totp-export.json');
  await writeFile(totpExport, sealWithPassword({ users: [] }, EXPORT_PASSWORD, { id: 'stepgate-totp-export', description: 'a Stepgate TOTP export' }));
  await refusedWithoutWriting(totpExport, /the file is not a Stepgate configuration export \(unknown format or version\)/);

  await refusedWithoutWriting(await variant((payload) => (payload.version = 2)), /the file holds version 2 of the configuration format; this Stepgate reads version 1/);
  assert.deepEqual(
    (await auditEvents(target, 'config.import')).map((event) => [event.outcome, event.reason]),
    [['failure', 'unreadable'], ['failure', 'unreadable'], ['failure', 'unreadable'], ['failure', 'invalid']],
    'refusals are audited',
  );
});

test('import checks every record as an admin entry here would be checked, and writes nothing when one fails', async () => {
  const rs256 = (payload: Payload) => payload.signingKeys.find((key: { alg: string }) => key.alg === 'RS256');
  const targetRsa = (await target.app.services.keys.active('RS256')).id;
  const cases: Array<[string, (payload: Payload) => void, RegExp]> = [
    ['a redirect URI without TLS', (payload) => (payload.oidcClients[0].redirectUris = ['http://rp.example.org/cb']), /OIDC client \S+: redirect URI http:\/\/rp\.example\.org\/cb: http is only allowed for localhost/],
    ['a policy reference to a policy neither in the file nor here', (payload) => (payload.policies = []), /SAML SP https:\/\/moved\.sp\.test\/metadata: its policy "staff-only" is neither in the file nor here\n.*OIDC client \S+: its policy "staff-only" is neither in the file nor here/],
    [
      'a policy in the file that is refused, named by an SP and a client: they are told it is refused, not missing',
      (payload) => (payload.policies[0].definition = { name: 'staff-only', rules: [{ when: { networks: ['office'] }, then: { effect: 'permit' } }] }),
      /policy staff-only: rules\[0\]\.when\.networks\[0\]: unknown trusted network "office".*\n.*SAML SP https:\/\/moved\.sp\.test\/metadata: its policy "staff-only" is in the file but refused \(see its problems\)\n.*OIDC client \S+: its policy "staff-only" is in the file but refused/,
    ],
    [
      'a policy naming a trusted network this installation does not have',
      (payload) => payload.policies.push({ id: 'office-only', definition: { name: 'office-only', rules: [{ when: { networks: ['office'] }, then: { effect: 'permit' } }] }, updatedAt: 1 }),
      /policy office-only: rules\[0\]\.when\.networks\[0\]: unknown trusted network "office"/,
    ],
    ['SP metadata that is not valid', (payload) => (payload.samlServiceProviders[0].metadataXml = '<!DOCTYPE x><x/>'), /SAML SP https:\/\/moved\.sp\.test\/metadata: The metadata was refused: it contains a DOCTYPE/],
    ['an SP whose metadata is for another entityID', (payload) => (payload.samlServiceProviders[0].id = 'https://other.sp.test/metadata'), /SAML SP https:\/\/other\.sp\.test\/metadata: The registration was refused: the metadata is for entityID https:\/\/moved\.sp\.test\/metadata/],
    [
      'an SP that would get nothing signed',
      (payload) => Object.assign(payload.samlServiceProviders[0].settings, { wantResponseSigned: false, wantAssertionsSigned: false }),
      /SAML SP https:\/\/moved\.sp\.test\/metadata: The registration was refused: the response or the assertion must be signed/,
    ],
    ['encryption for an SP without an encryption certificate', (payload) => (payload.samlServiceProviders[0].settings.encryptAssertions = true), /SAML SP https:\/\/moved\.sp\.test\/metadata: The registration was refused: --encrypt needs a KeyDescriptor/],
    ['a confidential client without its secret', (payload) => delete payload.oidcClients[0].secret, /OIDC client \S+: a confidential client needs its secret/],
    ['a public client with a secret', (payload) => (payload.oidcClients[0].tokenEndpointAuthMethod = 'none'), /OIDC client \S+: a public client has no secret/],
    ['a record of the wrong shape', (payload) => (payload.oidcClients[0].scopes = 'openid'), /OIDC client #1 in the file: scopes: /],
    ['a field this version does not know', (payload) => (payload.sessions = []), /the file: \(top level\): a field this version of Stepgate does not know: "sessions" \(a file exported by a newer Stepgate\? import it there, or upgrade this one first\)/],
    ['a record field this version does not know', (payload) => (payload.oidcClients[0].homeUrl = 'https://app.example.org/'), /OIDC client #1 in the file: \(record\): a field this version of Stepgate does not know: "homeUrl" \(a file exported by a newer Stepgate\?/],
    ['a record listed twice', (payload) => payload.policies.push(payload.policies[0]), /policy staff-only: listed more than once in the file/],
    ["a key with another key's certificate", (payload) => (rs256(payload).certificatePem = sp.certPem), /signing key \S+: the certificate is not for this private key/],
    ['two active keys of one algorithm', (payload) => payload.signingKeys.push({ ...rs256(payload), id: 'second-rsa' }), /after the import there would be 2 active RS256 keys/],
    ['another key under the id of a key here', (payload) => (rs256(payload).id = targetRsa), new RegExp(`signing key ${targetRsa}: this installation has a different key under the same id`)],
    ['an email with a control character', (payload) => (payload.localUsers[0].email = 'alice@example.org\u0001'), /local user \S+: not an email address: "alice@example\.org\\u0001"/],
    ['a name with a control character', (payload) => (payload.localUsers[0].name = 'Alice\u0007'), /local user \S+: the name must not contain control characters/],
    ['a password hash Stepgate cannot verify', (payload) => (payload.localUsers[0].passwordHash = 'md5$0123456789abcdef'), /local user \S+: a password hash is not a Stepgate scrypt hash/],
    [
      'a password hash with an N scrypt refuses (not a power of two): every sign-in as that user would be a server error',
      (payload) => (payload.localUsers[0].passwordHash = withScryptSettings(payload.localUsers[0].passwordHash, '1000$8$1')),
      /local user \S+: a password hash names scrypt settings Stepgate does not accept \(N=1000, r=8, p=1; /,
    ],
    [
      'a password hash with N a power of two below 2^14: weaker than any hash Stepgate writes',
      (payload) => (payload.localUsers[0].passwordHash = withScryptSettings(payload.localUsers[0].passwordHash, '8192$8$1')),
      /local user \S+: a password hash names scrypt settings Stepgate does not accept \(N=8192, r=8, p=1; /,
    ],
    [
      'a password hash with N over 2^14 that is not a power of two: scrypt refuses it at every sign-in',
      (payload) => (payload.localUsers[0].passwordHash = withScryptSettings(payload.localUsers[0].passwordHash, '20000$8$1')),
      /local user \S+: a password hash names scrypt settings Stepgate does not accept \(N=20000, r=8, p=1; /,
    ],
    [
      'an old password hash asking for 32 times the work Stepgate writes: each password change would hold a password slot for seconds',
      (payload) => payload.localUsers[0].previousPasswordHashes.push(withScryptSettings(payload.localUsers[0].passwordHash, '1048576$8$1')),
      /local user \S+: a password hash names scrypt settings Stepgate does not accept \(N=1048576, r=8, p=1; /,
    ],
    [
      'a password history longer than Stepgate keeps: every password change would check each hash (0.15 s each) in a password slot',
      (payload) => payload.localUsers[0].previousPasswordHashes.push(...Array.from({ length: 6 }, () => payload.localUsers[0].passwordHash)),
      /local user \S+: a password history of 6 hashes; Stepgate keeps the last 5 /,
    ],
    ['two users with one sign-in name', (payload) => payload.localUsers.push({ ...payload.localUsers[0], id: 'another-id' }), /"alice" would be the username or email of alice \(id \S+\) and alice \(id another-id\)/],
  ];
  for (const [what, change, message] of cases) {
    await test(what, async () => {
      await refusedWithoutWriting(await variant(change), message);
    });
  }
});

test("a fresh installation's own signing keys are a conflict without --replace; --dry-run reports and writes nothing", async () => {
  const refused = await refusedWithoutWriting(exportFile, /give --replace to replace them/);
  for (const key of await target.app.services.keys.all()) assert.match(refused, new RegExp(`signing key ${key.id} \\(${key.alg}, active here\\) would be retired`));

  const before = await dbJson(target);
  const dryRun = await cli(target, 'import', '--in', exportFile, '--password-file', passwordFile, '--replace', '--dry-run');
  assert.equal(dryRun.code, 0, dryRun.err);
  for (const line of [/add +policy staff-only/, /add +SAML SP https:\/\/moved\.sp\.test\/metadata/, new RegExp(`add +OIDC client ${rp.client.id}`), new RegExp(`add +signing key ${sourceKid}`), /add +local user /, /retire +signing key /]) assert.match(dryRun.out, line);
  assert.match(dryRun.out, /Dry run: nothing was written\. Without --dry-run: 6 added, 0 replaced, 0 unchanged, 2 signing keys of this installation retired\./);
  assert.equal(await dbJson(target), before, 'a dry run writes nothing');
});

test('import --replace into a fresh installation with another secret key: the client, SP, policy, keys and user work there unchanged', async () => {
  const imported = await cli(target, 'import', '--in', exportFile, '--password-file', passwordFile, '--replace');
  assert.equal(imported.code, 0, imported.err);
  assert.match(imported.out, /Imported: 6 added, 0 replaced, 0 unchanged, 2 signing keys of this installation retired\./);
  assert.match(imported.out, /Warning: this installation's secret key is not the one of .*: persistent NameIDs are derived from it, so https:\/\/moved\.sp\.test\/metadata will see other NameIDs/);
  await serverSees(() => target.app.services.keys.all(), (keys) => keys.some((key) => key.id === sourceKid && key.status === 'active'), 'the imported signing key');

  // OIDC: the same client_id and secret at the token endpoint (openid-client), an ID Token signed by the same key as before.
  const { tokens, claims } = await signIn(await sameRpAt(target.app), rpBrowser(), { username: 'alice', password: USER_PASSWORD });
  const verified = await jose.jwtVerify(tokens.id_token!, jose.createLocalJWKSet(sourceJwks), { issuer: target.app.url, audience: rp.client.id });
  assert.equal(verified.protectedHeader.kid, sourceKid, 'the kid relying parties already know');
  assert.equal(claims.preferred_username, 'alice');

  // SAML: the SP's own request, the Response checked by xmlsec1 and node-saml against the certificate from the source's metadata.
  const browser = new TestBrowser();
  const page = await sendAuthnRequest(browser, sp, '', { entryPoint: `${target.app.url}/saml/sso` });
  assert.ok(isPasswordPage(page), `expected the password page, got ${page.status} ${page.body.slice(0, 300)}`);
  const form = samlPostForm(await browser.submit(page, { username: 'alice', password: USER_PASSWORD }));
  assert.equal(form.action, sp.acsUrl);
  const { profile } = await sp.validate(form.fields.SAMLResponse!);
  assert.equal(profile?.issuer, `${source.app.url}/saml/metadata`);

  // Secrets are sealed with this installation's key, never stored in clear.
  const registry = clientRegistry(target.app.services.store, target.app.services.box, systemClock);
  const stored = (await registry.get(rp.client.id))!;
  assert.equal(registry.secretOf(stored), rp.secret);
  assert.throws(() => clientRegistry(source.app.services.store, source.app.services.box, systemClock).secretOf(stored), 'the source key does not open it');
  assert.equal((await dbJson(target)).includes(rp.secret!), false);

  const statuses = new Map((await target.app.services.keys.all()).map((key) => [key.id, key.status]));
  for (const id of targetKeyIds) assert.equal(statuses.get(id), 'retired', 'still published, no longer signing');
  const events = await auditEvents(target, 'config.import');
  assert.deepEqual({ ...events.at(-1), at: undefined, commandId: undefined }, {
    at: undefined,
    commandId: undefined,
    type: 'config.import',
    outcome: 'success',
    via: 'cli',
    osUser: userInfo().username,
    file: exportFile,
    policies: { add: 1, replace: 0, unchanged: 0, added: ['staff-only'] },
    samlServiceProviders: { add: 1, replace: 0, unchanged: 0, added: [sp.entityId] },
    oidcClients: { add: 1, replace: 0, unchanged: 0, added: [rp.client.id] },
    signingKeys: { add: 2, replace: 0, unchanged: 0, added: (events.at(-1)!.signingKeys as { added: string[] }).added },
    localUsers: { add: 1, replace: 0, unchanged: 0, added: (events.at(-1)!.localUsers as { added: string[] }).added, addedUsernames: ['alice'] },
    retiredKeys: 2,
    retiredKeyIds: (events.at(-1)!.retiredKeyIds as string[]),
  });
  assert.deepEqual([...(events.at(-1)!.retiredKeyIds as string[])].sort(), [...targetKeyIds].sort());
  assert.ok((events.at(-1)!.signingKeys as { added: string[] }).added.includes(sourceKid));
});

test('importing again changes nothing; records changed here are conflicts listed without --replace, and replaced with it', async () => {
  const before = await dbJson(target);
  const same = await cli(target, 'import', '--in', exportFile, '--password-file', passwordFile, '--quiet');
  assert.deepEqual([same.code, same.out, same.err], [0, '', '']);
  assert.equal(await dbJson(target), before, 'identical records are left as they are');

  const registry = clientRegistry(target.app.services.store, target.app.services.box, systemClock);
  assert.ok((await registry.update(rp.client.id, { name: 'Renamed here' })).ok);
  assert.ok((await target.app.services.policies.save({ name: 'staff-only', template: 'permit-specific-groups', parameters: { groups: ['staff', 'contractors'] } })).ok);
  const refused = await refusedWithoutWriting(exportFile, /give --replace to replace them/);
  assert.match(refused, new RegExp(`OIDC client ${rp.client.id} exists here with different content`));
  assert.match(refused, /policy staff-only exists here with different content/);
  assert.doesNotMatch(refused, /SAML SP|local user|signing key/, 'identical records are not conflicts');

  const replaced = await cli(target, 'import', '--in', exportFile, '--password-file', passwordFile, '--replace');
  assert.equal(replaced.code, 0, replaced.err);
  assert.match(replaced.out, new RegExp(`replace +OIDC client ${rp.client.id}`));
  assert.match(replaced.out, /Imported: 0 added, 2 replaced, 4 unchanged\./);
  const client = (await serverSees(() => registry.get(rp.client.id), (found) => found?.name === rp.client.name, 'the replaced client'))!;
  assert.equal(client.name, rp.client.name);
  assert.equal(registry.secretOf(client), rp.secret);
  assert.deepEqual(await target.app.services.policies.definition('staff-only'), await source.app.services.policies.definition('staff-only'));
});
