import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { PEOPLE, slapdDirectoryInput } from '../helpers/ldap-directory.ts';
import { ldapDirectorySchema } from '../../src/directory/ldap-config.ts';
import { diagnoseLdap } from '../../src/directory/ldap-diagnose.ts';

let slapd: SlapdHandle;
before(async () => {
  slapd = await startSlapd({ ldif: [`dn: cn=bin1,${PEOPLE}\nobjectClass: inetOrgPerson\ncn: bin1\nsn: bin1\nuid: bin1\naudio:: AQUAAAAAAAUVAAAA0ZrxjhfCRKlrIP6R0QcAAA==\nuserPassword: Welcome-2026-temp\n`], monitor: false });
});
after(() => slapd?.stop());

test('directory test warns when the user id cannot be searched for (an attribute without an equality rule): reuse, refresh and the password change would fail', async () => {
  const steps = await diagnoseLdap(ldapDirectorySchema.parse(slapdDirectoryInput(slapd, { idAttribute: 'audio', binaryAttributes: ['audio'] })), { user: 'bin1', password: 'Welcome-2026-temp' });
  const lookup = steps.find((step) => step.step === 'user-lookup');
  assert.ok(lookup?.ok, JSON.stringify(steps));
  assert.match(lookup?.warning ?? '', /a search for audio=<this entry's id> .* finds no entry .*password change/);
  const searchable = await diagnoseLdap(ldapDirectorySchema.parse(slapdDirectoryInput(slapd, { idAttribute: 'uid' })), { user: 'bin1', password: 'Welcome-2026-temp' });
  assert.doesNotMatch(JSON.stringify(searchable), /finds no entry/, 'an id the directory can match gets no such warning');
});
