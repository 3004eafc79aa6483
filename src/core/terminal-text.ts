/**
 * Text for the administrator's terminal: control and format characters (ESC, BEL, C1 controls,
 * text-direction overrides, line and paragraph separators) written out as `\u{1b}`. Values from the
 * directory (often synced from HR systems, sometimes edited by their users) and usernames typed at
 * sign-in must not clear the admin's screen, recolour it or reorder what it shows.
 */
export function terminalSafe(text: string): string {
  return text.replace(/[\p{C}\u2028\u2029]/gu, (char) => `\\u{${char.codePointAt(0)!.toString(16)}}`);
}
