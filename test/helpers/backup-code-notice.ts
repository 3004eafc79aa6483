import assert from 'node:assert/strict';
import type { Page, TestBrowser } from './browser.ts';

/** The page a sign-in shows after a backup code, before it goes on (views/mfa/backup-code-used.ts). */
export const isBackupCodeNotice = (page: Page) => page.status === 200 && /<h1>Backup code used<\/h1>/.test(page.body);

/** After a backup code: the notice that it is used up, then its "Continue", as the user would. */
export async function pastBackupCodeNotice(browser: TestBrowser, notice: Page): Promise<Page> {
  assert.ok(isBackupCodeNotice(notice), `the backup code notice, got ${notice.status}\n${notice.body.slice(0, 400)}`);
  return browser.submit(notice);
}
