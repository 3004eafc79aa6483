import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { JournalKeyValue } from '../../src/store/journal-kv.ts';
import { isFirstSight } from '../../src/saml/replay.ts';
import type { InboundRequest } from '../../src/saml/inbound.ts';
import { testSealer } from '../helpers/journal-sealer.ts';
import { withTempDir } from '../helpers/temp-dir.ts';
import { randomBytes } from 'node:crypto';

// inbound.ts accepts a message until IssueInstant + requestMaxAgeSeconds + clockSkewSeconds, and its
// IssueInstant may be clockSkewSeconds ahead: seen at once, it stays acceptable for max age + 2 × skew.
// A marker of exactly that life ended in the very millisecond the replay was still accepted.
test('a SAML message ID is remembered past the last moment the message is accepted', () =>
  withTempDir('stepgate-replay-', async (dir) => {
    let now = Date.parse('2026-11-25T10:00:00Z');
    const kv = new JournalKeyValue(join(dir, 'kv.journal'), { now: () => now }, { sealer: testSealer(randomBytes(32)) });
    await kv.open();
    try {
      const limits = { requestMaxAgeSeconds: 300, clockSkewSeconds: 120 };
      const request = { kind: 'AuthnRequest', id: '_replayed', sp: { id: 'https://sp.example.org/metadata' } } as unknown as InboundRequest;
      assert.equal(await isFirstSight(kv, request, limits), true);
      now += (limits.requestMaxAgeSeconds + 2 * limits.clockSkewSeconds) * 1000;
      assert.equal(await isFirstSight(kv, request, limits), false, 'still accepted by its age at this moment, so still a replay');
    } finally {
      await kv.close();
    }
  }));
