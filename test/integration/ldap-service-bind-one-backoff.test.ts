import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { boot } from '../helpers/boot.ts';
import { slapdDirectoryInput } from '../helpers/ldap-directory.ts';
import { until } from '../helpers/until.ts';

/**
 * A wrong service password is sent to a server again only once its back-off is over, so that a
 * directory that locks accounts (AD's lockout threshold applies to service accounts) is not walked
 * towards locking the one every sign-in needs. The periodic health check binds the service account
 * too: it must keep to the same back-off as the sign-ins, the start-up check and /readyz.
 */
let slapd: SlapdHandle;
before(async () => {
  slapd = await startSlapd({ ppolicy: false, monitor: false });
});
after(() => slapd?.stop());

test('the health check, the start-up check and /readyz send a refused service password once between them', async () => {
  const app = await boot({ directory: { ...slapdDirectoryInput(slapd), bind: { dn: slapd.serviceDn, password: 'not-the-service-password' } } });
  try {
    const refusals = () => app.logs.filter((line) => line.event === 'ldap.bind.service-refused').length;
    // The health check's first run starts with the app.
    await until(async () => app.logs.some((line) => line.event === 'directory.health'), Boolean, "the health check's first run");
    assert.equal(refusals(), 1);
    await assert.rejects(app.services.directory.startupCheck(), /not tried again until/);
    assert.equal((await fetch(`${app.url}/readyz`)).status, 503);
    assert.equal(refusals(), 1, 'the password was not sent again within the back-off');
  } finally {
    await app.close();
  }
});
