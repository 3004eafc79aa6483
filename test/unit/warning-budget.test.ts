import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { WarningBudget } from '../../src/http/warning-budget.ts';

/** A logger that keeps what it was given, named so a test can tell which one wrote a line. */
function recorder(name: string, lines: Array<{ by: string; facts: Record<string, unknown>; message: string }>) {
  return { warn: (facts: Record<string, unknown>, message: string) => void lines.push({ by: name, facts, message }) } as never;
}

test('each kind gets its own budget per window; the rest are counted and their number written once when the window ends', async () => {
  const budget = new WarningBudget({ perWindow: 3, windowMs: 300 });
  const lines: Array<{ by: string; facts: Record<string, unknown>; message: string }> = [];
  const admitted = Array.from({ length: 10 }, (_, i) => budget.admit('RATE_LIMITED', recorder(`request ${i}`, lines)));
  assert.deepEqual(admitted, [true, true, true, false, false, false, false, false, false, false]);
  assert.equal(budget.admit('LOGIN_FAILED', recorder('other', lines)), true, 'another kind has its own budget');
  assert.deepEqual(lines, [], 'nothing written by the budget itself during the window');

  await sleep(450);
  assert.deepEqual(lines, [
    {
      by: 'request 3',
      facts: { event: 'log.warnings-suppressed', warning: 'RATE_LIMITED', written: 3, suppressed: 7, seconds: 0.3 },
      message: '7 more RATE_LIMITED warnings in 0.3 s were not written',
    },
  ]);
  assert.equal(budget.admit('RATE_LIMITED', recorder('next window', lines)), true, 'a new window starts with a full budget');
  assert.equal(lines.length, 1, 'a window without warnings left out writes no count');
});
