import { test } from 'node:test';
import { Client } from 'ldapts';
import { startSlapd } from '../../scripts/slapd.ts';

/**
 * README "Quickstart": `npm test` as a user other than root checks the system packages and runs. A
 * Debian user's PATH has no /usr/sbin (login.defs ENV_PATH), where slapd and slapadd are: the check
 * (by full path) passed, and then every test on a real slapd failed with `spawn slapadd ENOENT`.
 */
test('the tests start slapd with a PATH that has no /usr/sbin, as a user who is not root has', async () => {
  const path = process.env.PATH;
  process.env.PATH = '/usr/local/bin:/usr/bin:/bin';
  let slapd;
  try {
    slapd = await startSlapd({ monitor: false });
  } finally {
    process.env.PATH = path;
  }
  try {
    const client = new Client({ url: slapd.url });
    await client.bind(slapd.serviceDn, 'service-secret');
    await client.unbind();
  } finally {
    await slapd.stop();
  }
});
