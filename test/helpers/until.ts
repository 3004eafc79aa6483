import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Reads until `ok` holds, then returns what was read: waits for a change another process or a
 * background task makes (the admin CLI writing db.json, a Logout Token on its way), never for a
 * fixed time. Gives up after about 15 s, naming `what` it waited for.
 */
export async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string): Promise<T> {
  for (let attempt = 0; attempt < 300; attempt++) {
    const value = await read();
    if (ok(value)) return value;
    await sleep(50);
  }
  assert.fail(`timed out waiting for ${what}`);
}
