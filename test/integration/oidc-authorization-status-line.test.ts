import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { authRequest, createRp, type TestRp } from '../helpers/oidc-rp.ts';

let app: Booted;
let rp: TestRp;

before(async () => {
  app = await boot({ regulation: { signInStartsPerIpPerMinute: 1 } });
  rp = await createRp(app);
});
after(() => app?.close());

const authorize = async () => fetch((await authRequest(rp)).url, { redirect: 'manual', headers: { accept: 'text/html' } });

test('the sign-in page answering an authorization request has the status line of its own status, not of the redirect it replaced', async () => {
  const page = await authorize();
  assert.equal(page.status, 200, JSON.stringify(app.logs.filter((l) => (l.level as number) >= 50)).slice(0, 3000));
  assert.equal(page.statusText, 'OK');

  const refused = await authorize();
  assert.equal(refused.status, 429);
  assert.equal(refused.statusText, 'Too Many Requests');
});
