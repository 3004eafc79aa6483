import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { boot } from '../helpers/boot.ts';
import { cliProcess } from '../helpers/cli.ts';

const SECRET_KEY = randomBytes(32).toString('base64');

test('user add/update --expires refuses a day that does not exist (2027-02-30 is a typo, not 2 March) and writes nothing; a real day ends at 23:59:59 UTC', async () => {
  const app = await boot({}, { secretKey: SECRET_KEY });
  try {
    const cli = (...words: string[]) => cliProcess(app, SECRET_KEY, words);
    for (const day of ['2027-02-30', '2026-04-31', '2027-13-01', '27-01-05', 'tomorrow']) {
      const refused = await cli('user', 'add', 'temp1', '--email', 'temp1@example.org', '--expires', day);
      assert.equal(refused.code, 2, day);
      assert.match(refused.err, /--expires takes a date YYYY-MM-DD that exists, or never/, day);
      assert.equal(await app.services.directory.findUser('temp1'), null, `nothing is written for ${day}`);
    }
    assert.equal((await cli('user', 'add', 'temp1', '--email', 'temp1@example.org', '--expires', '2028-02-29')).code, 0);
    assert.equal((await cli('user', 'update', 'temp1', '--expires', '2027-02-30')).code, 2);
    const shown2 = JSON.parse((await cli('user', 'show', 'temp1')).out) as { expiresAt: string };
    assert.equal(shown2.expiresAt, '2028-02-29T23:59:59.000Z', 'a refused update leaves the date as it was');
  } finally {
    await app.close();
  }
});
