import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { boot, TEST_FINISHER, type Booted } from '../helpers/boot.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { request } from '../helpers/login-request.ts';
import { focusedDescription, launchChromium, watchedPage } from '../helpers/chromium.ts';
import { signedOutPage } from '../../views/signed-out.ts';

const PASSWORD = 'Browser-pass-2026';
const SECRET = 'JBSWY3DPEHPK3PXP';

describe('the second-step code page and section headings in real headless Chromium', () => {
  let app: Booted;
  let browser: Browser;

  before(async () => {
    app = await boot({ directory: { kind: 'local' } });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await app?.close();
  });

  async function codePage(page: Page, username: string, backupCodes: boolean): Promise<void> {
    const userId = await addLocalUser(app.services, username, PASSWORD);
    await app.services.mfa.enrollments.put(userId, username, SECRET, { digits: 6, periodSeconds: 30, algorithm: 'sha1' }, Date.now());
    if (backupCodes) await app.services.mfa.backupCodes.regenerate(userId, 10, Date.now());
    const tx = await app.services.interaction.deps.transactions.create(request({ rpName: 'Payroll', rp: { policy: 'permit-everyone-require-mfa', allowPasswordChange: false }, handoff: { finisher: TEST_FINISHER, ref: '' } }));
    await page.goto(`${app.url}/login/${tx.id}`);
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Enter your code' }).waitFor();
  }

  test('the focused code field reads what is asked and that a backup code works too, which moving between controls would never reach', { timeout: 30_000 }, async () => {
    const context = await browser.newContext();
    const { page, problems } = await watchedPage(context);
    await codePage(page, 'dora', true);
    const { id, description } = await focusedDescription(page);
    assert.equal(id, 'field-code');
    assert.match(description, /Payroll asks for a second step: the 6-digit code from your authenticator app\./);
    assert.match(description, /No access to your app\? Enter one of your backup codes instead \(10 left\)\./);

    await page.getByLabel('Code').fill('12');
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('alert').waitFor();
    const refused = await focusedDescription(page);
    assert.equal(refused.id, 'field-code');
    assert.match(refused.description, /^Enter the 6-digit code from your authenticator app, or one of your backup codes\. Payroll asks for a second step/, 'the error first, then what is asked');
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('without backup codes left the code field names none', { timeout: 30_000 }, async () => {
    const context = await browser.newContext();
    const { page } = await watchedPage(context);
    await codePage(page, 'emil', false);
    const { description } = await focusedDescription(page);
    assert.match(description, /Payroll asks for a second step/);
    assert.doesNotMatch(description, /backup/);
    await context.close();
  });

  test('a section heading is drawn smaller than the page title, at 320 px too', { timeout: 30_000 }, async () => {
    const context = await browser.newContext({ viewport: { width: 320, height: 640 } });
    const { page, problems } = await watchedPage(context);
    // The page as the server renders it, at the server's own address, so the real stylesheet applies.
    await page.route(`${app.url}/signed-out-with-lists`, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: signedOutPage({ sessionEnded: true, confirmed: ['Wiki'], unconfirmed: ['Payroll'] }).value }));
    await page.goto(`${app.url}/signed-out-with-lists`);
    const size = (selector: string) => page.locator(selector).first().evaluate((element) => parseFloat(getComputedStyle(element).fontSize));
    const [title, section] = [await size('h1'), await size('h2')];
    assert.ok(section < title, `h2 at ${section}px, h1 at ${title}px`);
    assert.deepEqual(problems, []);
    await context.close();
  });
});
