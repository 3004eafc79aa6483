import { isDeepStrictEqual } from 'node:util';

/**
 * Of the fields a command was asked to change, those whose value differs between the record before
 * and after the change: the audit log names these only. An option given with the value the record
 * had already changed nothing, and an event naming it would tell a reader of the log otherwise.
 * `readers` gives a field whose value is not the record's property of the same name (a list of
 * groups added, a setting under another name); the others are read by their name.
 */
export function fieldsChanged<R extends object>(asked: Iterable<string>, before: R, after: R, readers: Readonly<Record<string, (record: R) => unknown>> = {}): string[] {
  return [...asked].filter((field) => {
    const read = readers[field] ?? ((record: R) => (record as Record<string, unknown>)[field]);
    return !isDeepStrictEqual(read(before), read(after));
  });
}
