import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { mintBootstrapSecretIfNeeded } from '../../src/admin/bootstrap.ts';
import { adminAccounts } from '../../src/admin/admin-accounts.ts';

describe('first administrator bootstrap', () => {
  let app: Booted;
  let secret: string;

  before(async () => {
    app = await boot();
    secret = (await mintBootstrapSecretIfNeeded(app.services.store, Date.now()))!;
  });
  after(() => app.close());

  test('the secret is minted once, stored only as a hash', async () => {
    assert.equal(await mintBootstrapSecretIfNeeded(app.services.store, Date.now()), undefined);
    const { readFile } = await import('node:fs/promises');
    assert.doesNotMatch(await readFile(`${app.dataDir}/db.json`, 'utf8'), new RegExp(secret));
  });

  test('a wrong secret creates nothing; the right one creates the admin once', async () => {
    const browser = new TestBrowser();
    const form = await browser.get(`${app.url}/admin/bootstrap`);
    const values = { username: 'root-admin', password: 'Very-long-admin-pass-1', confirmPassword: 'Very-long-admin-pass-1' };
    const wrong = await browser.submit(form, { ...values, secret: 'guess' });
    assert.equal(wrong.status, 403);
    assert.equal((await adminAccounts(app.services.store).list()).length, 0);
    const weak = await browser.submit(form, { ...values, secret, password: 'short', confirmPassword: 'short' });
    assert.equal(weak.status, 400);
    assert.equal((await adminAccounts(app.services.store).list()).length, 0);
    const created = await browser.submit(form, { ...values, secret });
    assert.equal(created.status, 200);
    assert.match(created.body, /Administrator created/);
    assert.equal((await adminAccounts(app.services.store).list()).length, 1);
    const again = await new TestBrowser().get(`${app.url}/admin/bootstrap`);
    assert.equal(again.status, 410);
  });
});
