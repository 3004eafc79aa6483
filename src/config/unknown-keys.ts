import type { z } from 'zod';

/**
 * The keys of `input` that `schema` does not declare, each as `path: unknown key`, with the closest
 * declared key when one is near. zod drops such keys silently, so a misspelt setting
 * (`sesion`, `wantAuthnRequestSigned`) would leave its default in force, a security setting
 * included. Every object of the schema is closed, however it was declared; a record
 * (`trustedNetworks`) is a map whose keys are the user's own.
 */
export function unknownKeys(schema: z.ZodType, input: unknown, path: readonly string[] = []): string[] {
  const def = schema.def as z.core.$ZodTypeDef & Record<string, unknown>;
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
      return unknownKeys(def.innerType as z.ZodType, input, path);
    case 'pipe': // a transform after the object: the input is the object's
      return unknownKeys(def.in as z.ZodType, input, path);
    case 'object': {
      if (!isPlainObject(input)) return [];
      const shape = (schema as z.ZodObject).shape;
      const known = Object.keys(shape);
      return Object.entries(input).flatMap(([key, value]) => {
        const at = [...path, key];
        if (Object.hasOwn(shape, key)) return unknownKeys(shape[key]!, value, at);
        const near = closest(key, known);
        return [`${at.join('.')}: unknown key${near ? ` (did you mean ${near}?)` : ''}`];
      });
    }
    case 'union': {
      // Only a discriminated union tells which object applies; an unknown kind is zod's own error.
      const discriminator = def.discriminator as string | undefined;
      if (!discriminator || !isPlainObject(input)) return [];
      const chosen = (def.options as z.ZodObject[]).find((option) => {
        const tag = option.shape[discriminator]?.def;
        return tag?.type === 'literal' && (tag as z.core.$ZodLiteralDef<z.core.util.Literal>).values.includes(input[discriminator] as z.core.util.Literal);
      });
      return chosen ? unknownKeys(chosen, input, path) : [];
    }
    case 'record':
      return isPlainObject(input) ? Object.entries(input).flatMap(([key, value]) => unknownKeys(def.valueType as z.ZodType, value, [...path, key])) : [];
    case 'array':
      return Array.isArray(input) ? input.flatMap((value, index) => unknownKeys(def.element as z.ZodType, value, [...path, String(index)])) : [];
    default:
      return [];
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The declared key a typo most likely meant: a few edits away, case and swapped letters included. */
function closest(key: string, known: readonly string[]): string | undefined {
  const limit = Math.max(2, Math.floor(key.length / 4));
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance <= limit && (!best || distance < best.distance)) best = { key: candidate, distance };
  }
  return best?.key;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let distance = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) distance = Math.min(distance, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = distance;
    }
  }
  return rows[a.length]![b.length]!;
}
