import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LowdbCollections } from '../../src/store/lowdb-collections.ts';

interface Enrollment {
  id: string;
  username: string;
}

test('update changes the record as stored now: a record another process removed a moment ago is not written back', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-update-'));
  try {
    const server = new LowdbCollections(join(dir, 'db.json'));
    const cli = new LowdbCollections(join(dir, 'db.json'));
    await server.open();
    await cli.open();
    const serverSide = server.collection<Enrollment>('mfa-enrollments');
    const cliSide = cli.collection<Enrollment>('mfa-enrollments');
    await serverSide.put({ id: 'u1', username: 'alice' });
    assert.equal((await serverSide.get('u1'))?.username, 'alice', 'the server holds the record');
    assert.equal(await cliSide.remove('u1'), true, 'the admin CLI removes it (an mfa reset)');

    assert.equal(await serverSide.update('u1', (current) => ({ ...current, username: 'alice2' })), false);
    assert.equal(await cliSide.get('u1'), undefined, 'still removed');

    await serverSide.put({ id: 'u2', username: 'bob' });
    assert.equal(await cliSide.update('u2', (current) => ({ ...current, username: 'robert' })), true);
    assert.deepEqual(await cliSide.get('u2'), { id: 'u2', username: 'robert' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
