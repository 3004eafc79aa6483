import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { startSignIn } from '../helpers/login-request.ts';
import { TcpRelay } from '../helpers/tcp-relay.ts';
import { personLdif, slapdDirectoryInput } from '../helpers/ldap-directory.ts';

// A sign-in or a /readyz probe that finds the directory unreachable logs `ldap.connect.failed` while
// it connects. Those lines had no request id, so the on-call admin could not tie them to the sign-in
// a user reported (its reference) or to the probe that failed.
const PASSWORD = 'Passw0rd!reach';

let slapd: SlapdHandle;
let relay: TcpRelay;
let app: Booted;

before(async () => {
  slapd = await startSlapd({ monitor: false, ppolicy: false, ldif: [personLdif({ uid: 'reach', cn: 'Reach', sn: 'R', password: PASSWORD })] });
  relay = await TcpRelay.to(slapd.port);
  app = await boot({ directory: { ...slapdDirectoryInput(slapd), urls: [relay.url], healthCheckSeconds: 0, accountState: { flavour: 'none' } } });
});

after(async () => {
  await app?.close();
  await relay?.cut();
  await slapd?.stop();
});

/** The `ldap.connect.failed` lines written since `from` (an index into app.logs). */
const connectFailures = (from: number): Array<Record<string, unknown>> => app.logs.slice(from).filter((line) => line['event'] === 'ldap.connect.failed');

test("a sign-in's and a /readyz probe's ldap.connect.failed lines carry their request id", async () => {
  const browser = new TestBrowser();
  const { page } = await startSignIn(app, browser);
  await relay.cut();

  let from = app.logs.length;
  const refused = await browser.submit(page, { username: 'reach', password: PASSWORD });
  assert.equal(refused.status, 503);
  const signInId = refused.headers.get('x-request-id');
  assert.ok(signInId);
  const signInLines = connectFailures(from);
  assert.ok(signInLines.length > 0, 'the sign-in tried to connect');
  assert.deepEqual(signInLines.map((line) => line['reqId']), signInLines.map(() => signInId));

  from = app.logs.length;
  const probe = await fetch(`${app.url}/readyz`);
  assert.equal(probe.status, 503);
  const probeId = probe.headers.get('x-request-id');
  assert.ok(probeId);
  const probeLines = connectFailures(from);
  assert.ok(probeLines.length > 0, 'the probe tried to connect');
  assert.deepEqual(probeLines.map((line) => line['reqId']), probeLines.map(() => probeId));

  await relay.restore();
  assert.equal((await fetch(`${app.url}/readyz`)).status, 200, 'ready again once the directory is back');
});
