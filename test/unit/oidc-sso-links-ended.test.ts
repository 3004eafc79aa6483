import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JournalKeyValue } from '../../src/store/journal-kv.ts';
import { testSealer } from '../helpers/journal-sealer.ts';
import { SsoLinks } from '../../src/oidc/sso-links.ts';
import type { SessionService } from '../../src/session/session-service.ts';

/**
 * A provider session's uid marked ended stays so for as long as the session could have lasted (the
 * links' lifetime): a save under way, or a sign-in page left open for minutes in another tab, must not
 * store it again however late it comes.
 */
test('an ended provider session stays ended for the lifetime of the links, and its link goes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-sso-links-ended-'));
  let now = 1_000_000;
  const kv = new JournalKeyValue(join(dir, 'kv.journal'), { now: () => now }, { sealer: testSealer() });
  await kv.open();
  try {
    const links = new SsoLinks(kv, {} as SessionService, 3600);
    await links.set('u1', 'sso-1');
    assert.equal(await links.ended('u1'), false);
    await links.end('u1');
    assert.equal(await links.get('u1'), undefined);
    assert.deepEqual(await links.mirrorsOf('sso-1'), []);
    now += 30 * 60_000;
    assert.equal(await links.ended('u1'), true, 'half an hour later');
    assert.equal(await links.ended('u2'), false);
  } finally {
    await kv.close();
    await rm(dir, { recursive: true, force: true });
  }
});
