import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { SlapdHandle } from '../../scripts/slapd.ts';
import { startConfiguredSlapd } from '../helpers/slapd-configured.ts';
import { withDirectory, slapdDirectoryInput } from '../helpers/ldap-directory.ts';
import { ldapDirectorySchema, type LdapDirectoryConfig } from '../../src/directory/ldap-config.ts';
import { diagnoseLdap } from '../../src/directory/ldap-diagnose.ts';

// A directory that accepts binds only over an encrypted connection (slapd `security ssf=128`, AD's
// LDAP signing / channel binding requirements) answers a plain ldap:// bind with LDAP 13: the message
// must say what to configure, since Stepgate knows the URL is plain.
const SUFFIX = 'dc=example,dc=org';
const HINT = 'LDAP 13 confidentiality required: confidentiality required (the server accepts it only over an encrypted connection: use ldaps:// or "startTls": true)';

let slapd: SlapdHandle;

before(async () => {
  slapd = await startConfiguredSlapd({ suffix: SUFFIX, global: ['security ssf=128'] });
});

after(async () => {
  await slapd?.stop();
});

function config(): LdapDirectoryConfig {
  return ldapDirectorySchema.parse({ ...slapdDirectoryInput(slapd, { baseDn: SUFFIX }), accountState: { flavour: 'none' } });
}

test('directory test: the refused service bind on ldap:// says to use ldaps:// or startTls', async () => {
  const steps = await diagnoseLdap(config());
  assert.deepEqual(steps.map((s) => `${s.step}:${s.ok}`), ['connect:true', 'service-bind:false']);
  assert.ok(steps[1]!.detail.includes(`${slapd.serviceDn}: ${HINT}`), steps[1]!.detail);
});

test('a sign-in: "unavailable", the detail with the same hint', async () => {
  const outcome = await withDirectory(config(), (directory) => directory.authenticate('alice', 'alice-secret'));
  assert.ok(!outcome.ok && outcome.reason === 'unavailable', JSON.stringify(outcome));
  assert.ok(outcome.detail.includes(HINT), outcome.detail);
});
