import { test } from 'node:test';
import assert from 'node:assert/strict';
import { securityPage } from '../../views/account/security.ts';
import type { TotpStatusRow } from '../../src/mfa/totp/totp-admin.ts';

const NOW = Date.parse('2026-11-24T10:00:00Z');
const page = (status: Partial<TotpStatusRow>) =>
  securityPage({ status: { userId: 'u-1', username: 'dora', status: 'Active', registeredAt: NOW - 86_400_000, backupCodesLeft: 10, ...status }, now: NOW, enrollHref: '/setup', replaceHref: '/replace', newCodesHref: '/new-codes' }).value;

test('"My security" says so when no backup code is left, next to the way to make new ones', () => {
  const body = page({ backupCodesLeft: 0 });
  assert.match(body, /<p class="notice" role="status">You have no backup codes left\. Make new ones now: without them, losing your phone means you cannot sign in until your helpdesk helps you\.<\/p>/);
  assert.match(body, /href="\/new-codes">Make new backup codes<\/a>/);
});

test('with backup codes left, or no authenticator app set up, the page counts them without a notice', () => {
  assert.doesNotMatch(page({ backupCodesLeft: 3 }), /class="notice"/);
  assert.match(page({ backupCodesLeft: 3 }), /<dd id="backup-codes-left">3<\/dd>/);
  assert.doesNotMatch(page({ status: 'Unregistered', registeredAt: undefined, backupCodesLeft: 0 }), /backup codes left/i);
});
