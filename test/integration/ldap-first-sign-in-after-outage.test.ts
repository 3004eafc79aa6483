import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { TcpRelay } from '../helpers/tcp-relay.ts';
import { capture, personLdif, slapdDirectoryInput, withDirectory } from '../helpers/ldap-directory.ts';
import { ldapDirectorySchema } from '../../src/directory/ldap-config.ts';

// While every server is down, one request at a time tries to connect again, and the others fail at
// once. The first sign-in after an outage searches twice at once (the user filter and the alternate
// login attribute): on two new connections, its second search failed on the first one's try with
// "another request is trying again" although the directory was back. Both share one connection.
const PASSWORD = 'Passw0rd!back';

let slapd: SlapdHandle;
let relay: TcpRelay;

before(async () => {
  slapd = await startSlapd({ monitor: false, ppolicy: false, ldif: [personLdif({ uid: 'plain', cn: 'Plain', sn: 'P', password: PASSWORD, mail: 'plain@example.org' })] });
  relay = await TcpRelay.to(slapd.port);
});

after(async () => {
  await relay?.cut();
  await slapd?.stop();
});

test('the first sign-in after the directory came back succeeds: its two searches share one reconnect', async () => {
  const input = slapdDirectoryInput(slapd, { alternateLoginAttributes: ['mail'] });
  const config = ldapDirectorySchema.parse({ ...input, urls: [relay.url], accountState: { flavour: 'none' } });
  const { logger, lines } = capture();
  await withDirectory(
    config,
    async (directory) => {
      await relay.cut();
      const down = await directory.authenticate('plain', PASSWORD);
      assert.ok(!down.ok && down.reason === 'unavailable', JSON.stringify(down));
      await relay.restore();
      const back = await directory.authenticate('plain', PASSWORD);
      assert.ok(back.ok, JSON.stringify(back));
    },
    logger,
  );
  assert.deepEqual(lines.filter((line) => /another request/.test(JSON.stringify(line))), []);
});
