import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../src/core/errors.ts';
import { DUMMY_HASH_PROMISE, DerivationSlots, PASSWORD_DERIVATIONS, hashPassword, verifyPassword } from '../../src/directory/password-hash.ts';

/** A task the test finishes by hand, telling when it started. */
function heldTask(started: string[], name: string) {
  let finish!: () => void;
  let fail!: (error: Error) => void;
  const done = new Promise<string>((resolve, reject) => {
    finish = () => resolve(name);
    fail = reject;
  });
  return { run: () => (started.push(name), done), finish: () => finish(), fail: (error: Error) => fail(error) };
}

const isBusy = (error: unknown) => error instanceof AppError && error.code === 'SIGN_IN_BUSY' && error.status === 503;
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('DerivationSlots', () => {
  test('runs two at once, keeps the next ones in line in order, and refuses the rest at once without running them', async () => {
    const slots = new DerivationSlots(2, 3);
    const started: string[] = [];
    const tasks = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((name) => heldTask(started, name));
    const runs = tasks.map((task) => slots.run(task.run));
    const refused = await Promise.allSettled(runs.slice(5));
    assert.ok(refused.every((outcome) => outcome.status === 'rejected' && isBusy(outcome.reason)), 'the sixth and seventh are refused before anything finished');
    await settle();
    assert.deepEqual(started, ['a', 'b']);

    tasks[1]!.finish();
    await settle();
    assert.deepEqual(started, ['a', 'b', 'c'], 'a finished task hands its slot to the first in line');
    tasks[0]!.fail(new Error('scrypt failed'));
    await assert.rejects(runs[0]!, /scrypt failed/);
    await settle();
    assert.deepEqual(started, ['a', 'b', 'c', 'd'], 'a failed task gives its slot back too');

    const late = heldTask(started, 'h');
    const lateRun = slots.run(late.run);
    for (const task of tasks.slice(2, 5)) task.finish();
    await settle();
    late.finish();
    assert.deepEqual(await Promise.all([runs[1], ...runs.slice(2, 5), lateRun]), ['b', 'c', 'd', 'e', 'h']);
    assert.deepEqual(started, ['a', 'b', 'c', 'd', 'e', 'h'], 'a newcomer queues behind those already waiting');
  });
});

describe('password hashing under a burst', () => {
  before(() => DUMMY_HASH_PROMISE); // made at import: the burst below starts with every slot free
  test('verifications and new hashes beyond the bound are refused as busy at once; the others give their real answer', async () => {
    const hash = await hashPassword('right-password-1');
    const capacity = PASSWORD_DERIVATIONS.maxRunning + PASSWORD_DERIVATIONS.maxWaiting;
    const burst = Array.from({ length: capacity + 4 }, (_, index) => verifyPassword(index === 0 ? 'right-password-1' : `wrong-${index}`, hash));
    await assert.rejects(hashPassword('a-new-password-2'), isBusy, 'hashing a new password goes through the same bound');
    const outcomes = await Promise.allSettled(burst);
    const refused = outcomes.filter((outcome) => outcome.status === 'rejected');
    assert.equal(refused.length, 4);
    assert.ok(refused.every((outcome) => isBusy(outcome.reason)));
    assert.deepEqual(
      outcomes.slice(0, capacity).map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : 'refused')),
      [true, ...Array.from({ length: capacity - 1 }, () => false)],
    );
    assert.match(await hashPassword('a-new-password-2'), /^scrypt\$/, 'once the line is short again, it gets through');
  });
});
