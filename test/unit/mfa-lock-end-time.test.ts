import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lockMessage } from '../../views/mfa/messages.ts';

/**
 * The end of a code lock as the user is told it: never a minute in which the lock still holds (a
 * user who comes back at the time shown must be let in), and with the day when it is not today.
 */

const at = (iso: string) => Date.parse(iso);

test('a lock ending within a minute is shown as the next whole minute, as the wait is counted', () => {
  const now = at('2026-11-23T18:37:45Z');
  assert.match(lockMessage(at('2026-11-23T18:38:45Z'), now), /blocked for your account for 1 minute \(until 18:39 UTC\)\./);
  assert.match(lockMessage(at('2026-11-23T18:52:45Z'), now), /for 15 minutes \(until 18:53 UTC\)\./);
  assert.match(lockMessage(at('2026-11-23T18:40:00Z'), now), /\(until 18:40 UTC\)\./, 'a lock that ends on a whole minute keeps it');
});

test('a lock that ends on another day (UTC) says which day', () => {
  const now = at('2026-11-23T10:00:15Z');
  assert.match(lockMessage(at('2026-11-24T02:00:15Z'), now), /for 16 hours \(until 02:01 UTC on 24 November 2026\)\./);
  assert.match(lockMessage(at('2026-11-23T23:59:30Z'), at('2026-11-23T23:45:30Z')), /for 14 minutes \(until 00:00 UTC on 24 November 2026\)\./, 'rounded up past midnight');
  assert.match(lockMessage(at('2026-12-31T23:59:59Z'), at('2026-12-31T22:00:00Z')), /\(until 00:00 UTC on 1 January 2027\)\./);
});

test('the lock of codes from the client\'s network ends the same way', () => {
  const message = lockMessage(at('2026-11-23T18:38:45Z'), at('2026-11-23T18:37:45Z'), 'client');
  assert.match(message, /sign-in codes from here are blocked for 1 minute \(until 18:39 UTC\)\. Try again after that, or from another network\.$/);
  assert.doesNotMatch(message, /helpdesk/, 'no command lifts an address\'s lock');
});
