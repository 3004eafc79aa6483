/**
 * Characters that show nothing, or reorder the text around them: Unicode format characters (Cf:
 * zero-width spaces and joiners, text-direction marks, embeddings, overrides and isolates, soft
 * hyphens) and the other default-ignorable code points (the combining grapheme joiner U+034F,
 * variation selectors, Hangul fillers), which renderers and IDNA mapping drop: "alice@exa\u034Fmple.org"
 * looks like, and normalises to, another address. Global, for match and replace (test() would keep
 * its place between calls: use hasInvisibleCharacter).
 */
export const INVISIBLE_CHARACTER = /[\p{Cf}\p{Default_Ignorable_Code_Point}]/gu;

export function hasInvisibleCharacter(text: string): boolean {
  return /[\p{Cf}\p{Default_Ignorable_Code_Point}]/u.test(text);
}
