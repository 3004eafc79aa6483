import { BoundedMap } from '../core/bounded-map.ts';

/**
 * A fold of the strings rules are written with, kept: every decision folds each name and pattern of
 * every rule it looks at (1000 rules: two thousand normalizations), the same strings decision after decision.
 */
export function remembered<T>(fold: (text: string) => T): (text: string) => T {
  const known = new BoundedMap<string, T>(20_000);
  return (text) => {
    if (known.has(text)) return known.get(text)!;
    const folded = fold(text);
    known.set(text, folded);
    return folded;
  };
}
