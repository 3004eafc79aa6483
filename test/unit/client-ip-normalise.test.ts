import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { normaliseIp } from '../../src/http/request-context.ts';

describe('normaliseIp: one spelling per address, asked again and again', () => {
  const cases: Array<[string, string | undefined]> = [
    ['203.0.113.9', '203.0.113.9'],
    ['::FFFF:203.0.113.10', '203.0.113.10'],
    ['::ffff:cb00:710a', '203.0.113.10'],
    ['2001:DB8:0:0::1', '2001:db8::1'],
    ['fe80::1%eth0', 'fe80::1'],
    ['not an address', undefined],
    ['', undefined],
    ['<script>', undefined],
    ['1'.repeat(12_000), undefined],
    [`fe80::1%${'x'.repeat(100)}`, 'fe80::1'],
  ];

  test('the same answer the second time as the first', () => {
    for (let round = 0; round < 3; round++) {
      for (const [raw, spelled] of cases) assert.equal(normaliseIp(raw), spelled, `${JSON.stringify(raw)}, round ${round}`);
    }
  });

  test('past the bound of kept spellings, answers stay right', () => {
    for (let n = 0; n < 2500; n++) {
      const v4 = `10.${(n >> 8) & 255}.${n & 255}.1`;
      assert.equal(normaliseIp(v4), v4);
      assert.equal(normaliseIp(`::ffff:${v4}`), v4);
      assert.equal(normaliseIp(`x${n}`), undefined);
    }
    for (const [raw, spelled] of cases) assert.equal(normaliseIp(raw), spelled);
  });
});
