import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomPoolBytes, randomPoolString } from '../../src/core/random-pool.ts';
import { randomId } from '../../src/core/ids.ts';

describe('random values drawn from a pool', () => {
  test('no two values share bytes, across many refills of the pool', () => {
    // 12-byte IVs and 32-byte ids interleaved, so values straddle every refill point.
    const seen = new Set<string>();
    for (let n = 0; n < 5000; n++) {
      const value = n % 2 === 0 ? randomPoolBytes(12).toString('hex') : randomPoolString(32, 'hex');
      assert.equal(value.length, n % 2 === 0 ? 24 : 64);
      assert.ok(!seen.has(value), `value ${n} came back`);
      seen.add(value);
    }
  });

  test('every value has the length asked for, at whichever point of the pool it starts', () => {
    // One byte at a time reaches every offset, the last byte of the pool and the one past it included.
    for (let n = 0; n < 3 * 4096 + 7; n++) {
      assert.equal(randomPoolBytes(1).length, 1, `value ${n}`);
      assert.equal(randomPoolString(1, 'hex').length, 2, `string ${n}`);
    }
  });

  test('a Buffer handed out is its own: drawing more does not change it', () => {
    const iv = randomPoolBytes(12);
    const copy = Buffer.from(iv);
    for (let n = 0; n < 1000; n++) randomPoolBytes(16);
    assert.deepEqual(iv, copy);
  });

  test('values larger than the pool are drawn whole', () => {
    assert.equal(randomPoolBytes(10_000).length, 10_000);
    assert.equal(randomPoolString(5000, 'hex').length, 10_000);
    assert.notEqual(randomPoolString(5000, 'hex'), randomPoolString(5000, 'hex'));
  });

  test('values larger than the pool are random too, not just long', () => {
    const [one, two] = [randomPoolBytes(10_000), randomPoolBytes(10_000)];
    assert.notDeepEqual(one, two);
    assert.ok(one.some((byte) => byte !== 0) && new Set(one).size > 200, 'bytes of many values');
  });

  test('a value does not start with the byte the value before it ended with', () => {
    // Each pair shares its bytes by chance 1 time in 256 (about 8 of 2000); values carved from
    // overlapping bytes would share them every time.
    let shared = 0;
    for (let n = 0; n < 2000; n++) {
      const [before, after] = [randomPoolBytes(12), randomPoolBytes(12)];
      if (before[11] === after[0]) shared++;
    }
    assert.ok(shared < 100, `${shared} of 2000 pairs`);
  });

  test('bytes look uniform: every value of a byte turns up over 256 KB', () => {
    const counts = new Array<number>(256).fill(0);
    for (let n = 0; n < 8192; n++) for (const byte of randomPoolBytes(32)) counts[byte]!++;
    // 1024 expected per value; 6 standard deviations (about 32 each) is far from any real bias and far from flaky.
    for (const [value, count] of counts.entries()) assert.ok(Math.abs(count - 1024) < 200, `byte ${value}: ${count}`);
  });

  test('randomId keeps its length and alphabet and never starts with "-"', () => {
    for (let n = 0; n < 2000; n++) {
      const id = randomId();
      assert.match(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{42}$/);
    }
    assert.match(randomId(24), /^[A-Za-z0-9_][A-Za-z0-9_-]{31}$/);
  });
});
