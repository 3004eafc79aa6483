import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { JournalKeyValue } from '../../src/store/journal-kv.ts';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import { testSealer } from '../helpers/journal-sealer.ts';
import { withTempDir } from '../helpers/temp-dir.ts';

/**
 * Callers change what they read (a session gets a factor, a payload a `consumed` mark) before they
 * write it back: what one reads must never be what another reads or what the store holds. A faster
 * read (values kept parsed, records handed out frozen) has to keep this.
 */
const sealer = testSealer();
const clock = { now: () => Date.now() };
const withDir = <T>(run: (dir: string) => Promise<T>): Promise<T> => withTempDir('stepgate-copies-', run);

describe('the journal hands out private copies', () => {
  test('of the value written, to each reader, of what compare-and-set wrote, and to the one consumer', () =>
    withDir(async (dir) => {
      const kv = new JournalKeyValue(join(dir, 'kv.journal'), clock, { sealer });
      await kv.open();
      const written = { user: { id: 'u1', groups: ['staff'] }, factors: [{ method: 'otp', at: 1 }] };
      await kv.set('sso-session', 's1', written);
      written.user.groups.push('admins');
      written.factors[0]!.at = 99;
      const first = (await kv.get<typeof written>('sso-session', 's1'))!;
      assert.deepEqual(first, { user: { id: 'u1', groups: ['staff'] }, factors: [{ method: 'otp', at: 1 }] });
      first.user.groups.push('changed by a reader');
      const second = (await kv.get<typeof written>('sso-session', 's1'))!;
      assert.deepEqual(second.user.groups, ['staff']);

      const next = { ...second, factors: [...second.factors, { method: 'webauthn', at: 2 }] };
      assert.equal(await kv.compareAndSet('sso-session', 's1', second, next), true);
      next.factors.pop();
      assert.deepEqual((await kv.get<typeof written>('sso-session', 's1'))!.factors, [
        { method: 'otp', at: 1 },
        { method: 'webauthn', at: 2 },
      ]);

      const consumed = (await kv.consume<typeof written>('sso-session', 's1'))!;
      assert.equal(consumed.factors.length, 2);
      assert.equal(await kv.get('sso-session', 's1'), undefined);
      await kv.close();
    }));

  test('as JSON gives them back, for values that are not plain data (a Date, undefined, NaN)', () =>
    withDir(async (dir) => {
      const kv = new JournalKeyValue(join(dir, 'kv.journal'), clock, { sealer });
      await kv.open();
      const value = { at: new Date(0), missing: undefined, list: [undefined, Number.NaN] };
      await kv.set('ns', 'k', value);
      assert.deepStrictEqual(await kv.get('ns', 'k'), { at: '1970-01-01T00:00:00.000Z', list: [null, null] });
      assert.equal(await kv.compareAndSet('ns', 'k', JSON.parse(JSON.stringify(value)), { n: 1 }), true, 'compared as JSON');
      await kv.close();
    }));
});

describe('collections hand out private copies', () => {
  test('of each record read, as the file would give it back, also for a record put with a Date', () =>
    withDir(async (dir) => {
      const store = await new LowdbStore(dir, clock, { sealer }).open();
      const clients = store.collection<{ id: string; redirectUris: string[]; at?: unknown }>('oidc-clients');
      await clients.put({ id: 'payroll', redirectUris: ['https://payroll.example/cb'] });
      (await clients.get('payroll'))!.redirectUris.push('https://attacker.example/cb');
      (await clients.list())[0]!.redirectUris.push('https://attacker.example/cb');
      assert.deepEqual((await clients.get('payroll'))!.redirectUris, ['https://payroll.example/cb']);

      await clients.put({ id: 'dated', redirectUris: [], at: new Date(0) });
      const dated = (await clients.get('dated'))!;
      assert.equal(dated.at, '1970-01-01T00:00:00.000Z');
      dated.at = 'changed';
      assert.equal((await clients.get('dated'))!.at, '1970-01-01T00:00:00.000Z');
      await store.close();
    }));
});
