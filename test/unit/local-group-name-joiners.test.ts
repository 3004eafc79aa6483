import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupProblem } from '../../src/directory/local-user-rules.ts';

test('a joiner in a group name is refused at either end and beside an ASCII character, and kept between two non-ASCII ones', () => {
  for (const group of ['\u200Cخواهم', 'می\u200C', 'staff\u200D', '\u200Dstaff', 'a\u200Cخواهم', 'می\u200Ca']) {
    assert.match(groupProblem(group) ?? '', /contains U\+200[CD]/, JSON.stringify(group));
  }
  assert.equal(groupProblem('می\u200Cخواهم'), undefined);
  assert.equal(groupProblem('👩\u200D💻'), undefined);
});
