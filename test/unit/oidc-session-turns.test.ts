import { test } from 'node:test';
import assert from 'node:assert/strict';
import { oneTurnAtATime } from '../../src/oidc/session-turns.ts';

/** A promise and the function that settles it. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

test('a turn that ends while another waits behind it still makes the turns after that one wait', async () => {
  let active = 0;
  let most = 0;
  const turn = (work: () => Promise<void>) =>
    oneTurnAtATime('uid-1', async () => {
      active++;
      most = Math.max(most, active);
      try {
        await work();
      } finally {
        active--;
      }
    });
  const first = gate();
  const second = gate();
  const secondStarted = gate();
  const a = turn(() => first.opened);
  const b = turn(async () => {
    secondStarted.open();
    await second.opened;
  });
  first.open();
  await a;
  await secondStarted.opened;
  // A third turn asked for while the second is under way, after the first ended.
  const c = turn(async () => {});
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(most, 1, 'the third turn started while the second was under way');
  second.open();
  await Promise.all([b, c]);
  assert.equal(most, 1);
});

test('turns of different sessions do not wait for each other', async () => {
  const held = gate();
  const one = oneTurnAtATime('uid-a', () => held.opened);
  assert.equal(await oneTurnAtATime('uid-b', async () => 'done'), 'done');
  held.open();
  await one;
});
