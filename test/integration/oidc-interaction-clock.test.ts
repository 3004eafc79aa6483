import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { createRp, createUser, rpBrowser, signIn } from '../helpers/oidc-rp.ts';

/**
 * The interaction's lifetime is oidc-provider's: its `exp` is on oidc-provider's clock (Date.now, which
 * no Stepgate clock reaches), and saving it with a TTL adds that TTL to the same clock, so the remaining
 * TTL is oidc-provider's own (remainingTTL). Taken on Stepgate's clock while that runs ahead, as tests
 * move it, the TTL would be negative and the finished sign-in would find its interaction expired.
 */
const PASSWORD = 'correct horse 42';
/** Longer than an interaction lives (15 minutes). */
const AHEAD_MS = 2 * 3_600_000;
let app: Booted;
let aliceId: string;

before(async () => {
  app = await boot({}, { clock: { now: () => Date.now() + AHEAD_MS } });
  aliceId = await createUser(app, { username: 'alice', password: PASSWORD });
});
after(() => app?.close());

test("an OIDC sign-in finishes with Stepgate's clock two hours ahead of oidc-provider's", async () => {
  const client = await createRp(app, { policy: 'permit-everyone' });
  const { claims } = await signIn(client, rpBrowser(), { username: 'alice', password: PASSWORD });
  assert.equal(claims.sub, aliceId);
});
