import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clientNetwork } from '../../src/regulation/client-network.ts';
import { StartLimiter } from '../../src/regulation/start-limiter.ts';

test('an IPv6 client is its /64, an IPv4 client its address', () => {
  for (const ip of ['2001:db8:1:2::1', '2001:DB8:1:2:ffff:ffff:ffff:ffff', '2001:0db8:0001:0002:0:0:0:9', '2001:db8:1:2::5%eth0']) assert.equal(clientNetwork(ip), '2001:db8:1:2::/64', ip);
  assert.notEqual(clientNetwork('2001:db8:1:3::1'), clientNetwork('2001:db8:1:2::1'));
  assert.equal(clientNetwork('192.0.2.7'), '192.0.2.7');
  assert.equal(clientNetwork('::ffff:192.0.2.7'), '192.0.2.7', 'IPv4-mapped: the IPv4 client');
  assert.equal(clientNetwork('::10.1.2.3'), '::/64', 'IPv4-compatible is IPv6, as for policies');
  assert.equal(clientNetwork('unknown'), 'unknown');
});

test('the sign-in start limit takes one bucket per IPv6 /64', () => {
  const limiter = new StartLimiter(3, { now: () => 1_000_000 });
  for (const ip of ['2001:db8:5:6::1', '2001:db8:5:6::2', '2001:db8:5:6:abcd::3']) assert.equal(limiter.take(ip), true, ip);
  assert.equal(limiter.take('2001:db8:5:6:1:2:3:4'), false, 'a fresh address of the same /64 finds the bucket empty');
  assert.equal(limiter.take('2001:db8:5:7::1'), true, 'the next /64 has its own');
});

test('the sign-in start limit refills whole starts: half of one refilled is none yet', () => {
  let now = 1_000_000;
  const limiter = new StartLimiter(2, { now: () => now });
  assert.equal(limiter.take('192.0.2.50'), true);
  assert.equal(limiter.take('192.0.2.50'), true);
  assert.equal(limiter.take('192.0.2.50'), false, 'the bucket is empty');
  now += 15_000; // two a minute: half of one start
  assert.equal(limiter.take('192.0.2.50'), false, 'half a start refilled');
  now += 15_000;
  assert.equal(limiter.take('192.0.2.50'), true, 'one whole start refilled');
});
