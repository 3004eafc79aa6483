import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SEALED_RECORD_CHARS, sealedRecords } from '../../src/store/journal-sealed-line.ts';
import { testSealer } from '../helpers/journal-sealer.ts';

// One chunking of plaintext lines into sealed records serves an append's lines and a compaction's
// live entries; the compaction's are read from memory as they are sealed, never all at once.
const sealer = testSealer();
const opened = (record: string): string[] => sealer.open(record.split('\t')[2]!).split('\n');

test('sealed records are made as the lines are read: a compaction never holds all its lines at once', () => {
  let read = 0;
  const lines = function* () {
    for (let i = 0; i < 10; i++) {
      read += 1;
      yield `${i}:${'x'.repeat(SEALED_RECORD_CHARS / 2)}`;
    }
  };
  const records = sealedRecords(sealer, '', lines());
  const first = records.next();
  assert.equal(read, 2, 'the first record is sealed once it is full');
  assert.deepEqual(opened(first.value as string).map((line) => line.split(':')[0]), ['0', '1']);
  const rest = [...records];
  assert.equal(read, 10);
  assert.deepEqual(rest.flatMap(opened).map((line) => line.split(':')[0]), ['2', '3', '4', '5', '6', '7', '8', '9']);
});

test('an append\'s lines: in order, the writer outside the seal, a record per SEALED_RECORD_CHARS or less', () => {
  const lines = ['a', 'b', 'x'.repeat(SEALED_RECORD_CHARS), 'c'];
  const records = [...sealedRecords(sealer, 'w1', lines)];
  assert.deepEqual(records.map((record) => record.split('\t').slice(0, 2)), [['E', 'w1'], ['E', 'w1']]);
  assert.deepEqual(records.flatMap(opened), lines);
});
