/** XML's four white-space characters (not JavaScript's wider \s: a no-break space is part of a value). */
function isXmlWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

/**
 * `value` without XML white space at either end, as the schema's whiteSpace collapse reads it. A scan
 * from each end, not /^[ \t\r\n]+|[ \t\r\n]+$/g: that expression tries its end anchor from every
 * white-space character, so a run of them inside a value cost the square of its length (100,000
 * spaces inside an Issuer, a 646-byte Redirect-binding URL, held the event loop for 8.5 s).
 */
export function trimXmlWhitespace(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isXmlWhitespace(value.charCodeAt(start))) start += 1;
  while (end > start && isXmlWhitespace(value.charCodeAt(end - 1))) end -= 1;
  return value.slice(start, end);
}
