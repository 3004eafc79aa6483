import { PEOPLE, personLdif, slapdDirectoryInput } from '../helpers/ldap-directory.ts';
import { asDirectoryAdmin } from '../helpers/ldap-admin.ts';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import type { TestBrowser } from '../helpers/browser.ts';
import { authRequest, callbackOf, createRp, rpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';
import { until } from '../helpers/until.ts';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { freePort } from '../../scripts/free-port.ts';
import { runCli } from '../../src/cli/run-cli.ts';
import { COMMANDS } from '../../src/cli/commands/all.ts';
import type { Config } from '../../src/config/schema.ts';

// A session stores its user as they were at sign-in. The directory renames erin to erin2 (same
// entryUUID) while she is signed in, and her old name goes to someone else: the helpdesk names
// people as the directory names them now, by any name they sign in with.

const ERIN_ID = '5e000000-0000-4000-8000-00000000e001';
const PASSWORD = 'Passw0rd!erin';
const ERIN_LDIF = personLdif({ uid: 'erin', cn: 'Erin Example', sn: 'Example', mail: 'e.example@example.org', entryUUID: ERIN_ID, password: PASSWORD });

let slapd: SlapdHandle;
let app: Booted;
let rp: TestRp;
let erinsBrowser: TestBrowser;

async function cli(words: string[], config: Config = app.services.config): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const { services } = app;
  const code = await runCli(COMMANDS, words, { config: () => config, store: async () => services.store, box: () => services.box, clock: services.clock, out: (line) => out.push(line), err: (line) => err.push(line) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}


async function silentCode(browser: TestBrowser): Promise<string | null> {
  const request = await authRequest(rp, { prompt: 'none' });
  const callback = callbackOf(rp, await browser.get(request.url.toString()));
  return callback.searchParams.get('code') ?? callback.searchParams.get('error');
}

const lines = (text: string) => text.split('\n').filter(Boolean);

before(async () => {
  slapd = await startSlapd({ ldif: [ERIN_LDIF], ppolicy: false });
  app = await boot({
    directory: slapdDirectoryInput(slapd, { alternateLoginAttributes: ['mail'] }),
  });
  rp = await createRp(app);
  erinsBrowser = rpBrowser();
  await signIn(rp, erinsBrowser, { username: 'erin', password: PASSWORD });
  // The directory renames her (the RDN's uid value goes with it), and gives her old name to someone else.
  await asDirectoryAdmin(slapd, (client) => client.modifyDN(`uid=erin,${PEOPLE}`, 'uid=erin2'));
  await asDirectoryAdmin(slapd, (client) => client.add(`uid=erin,${PEOPLE}`, { objectClass: 'inetOrgPerson', uid: 'erin', cn: 'Erin Other', sn: 'Other', userPassword: 'Passw0rd!other' }));
});

after(async () => {
  await app?.close();
  await slapd?.stop();
});

test('session list --user finds a renamed user\'s session by her current name and by her email, any case; her old name finds only its new owner', async () => {
  for (const name of ['erin2', 'ERIN2', 'e.example@example.org', 'E.Example@EXAMPLE.org', 'EXAMPLE\\erin2', ERIN_ID]) {
    const listed = await cli(['session', 'list', '--user', name]);
    assert.equal(listed.code, 0, name);
    assert.equal(lines(listed.out).length, 1, `${name}: ${listed.out} ${listed.err}`);
  }
  const oldName = await cli(['session', 'list', '--user', 'erin']);
  assert.equal(oldName.out, '', 'the directory says erin is someone else now, who has no session');
  assert.match(oldName.err, new RegExp(`^Not included: 1 session of another user who was "erin" at sign-in \\(user id ${ERIN_ID}\\); give --user USER_ID for them\\.$`, 'm'));
});

test('while the directory cannot be asked, --user matches the name at sign-in and user ids, and says so', async () => {
  const { config } = app.services;
  assert.equal(config.directory.kind, 'ldap');
  const unreachable = { ...config, directory: { ...config.directory, urls: [`ldap://127.0.0.1:${await freePort()}`] } };
  const listed = await cli(['session', 'list', '--user', 'erin'], unreachable);
  assert.equal(lines(listed.out).length, 1, listed.out);
  assert.match(listed.err, /^The ldap directory could not be asked which user "erin" is \(.+\): matched the user id and the name each session's user had at sign-in instead\.$/);
  const current = await cli(['session', 'end', '--user', 'erin2'], unreachable);
  assert.equal(current.code, 1, 'her new name is on no session yet');
  assert.match(current.err, /could not be asked which user "erin2" is[\s\S]*\nerin2 has no live session$/);
});

test('session end --user with her email ends the renamed user\'s session', async () => {
  assert.ok((await silentCode(erinsBrowser))?.length, 'signed in');
  const ended = await cli(['session', 'end', '--user', 'e.example@example.org']);
  assert.equal(ended.code, 0, ended.err);
  assert.match(ended.out, /^Ended 1 session of erin2\./);
  await until(() => silentCode(erinsBrowser), (answer) => answer === 'login_required', 'erin to be signed out');
  const events = (await app.services.store.audit.query({ types: ['session.ended'] })).events;
  assert.deepEqual(events.map((event) => [event.userId, event.reason]), [[ERIN_ID, 'administrator']]);
});
