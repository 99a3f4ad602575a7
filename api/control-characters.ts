import type { ValidationDetail } from './errors.js';

/**
 * Control and format characters (Unicode categories Cc and Cf: NUL, the C0 and C1 controls, bidi
 * overrides, zero-width characters, the BOM, …) have no place in any string this API takes: they
 * are invisible or reorder text in logs and screens, and PostgreSQL refuses NUL outright (22021).
 * This is the server's check; the document publishes the same rule as NO_CONTROL_CHARACTERS_PATTERN.
 */
const CONTROL_OR_FORMAT = /[\p{Cc}\p{Cf}]/u;

export const CONTROL_CHARACTER_TYPE = 'string_control_character';

type CodePointRange = readonly [first: number, last: number];

/** The code points `characterClass` matches, as ranges: read from this runtime's own Unicode data, never typed in. */
function codePointRanges(characterClass: RegExp): CodePointRange[] {
  const ranges: [number, number][] = [];
  for (let codePoint = 0; codePoint <= 0x10ffff; codePoint++) {
    if (codePoint === 0xd800) codePoint = 0xe000; // surrogates are no characters (category Cs)
    if (!characterClass.test(String.fromCodePoint(codePoint))) continue;
    const last = ranges.at(-1);
    if (last && last[1] === codePoint - 1) last[1] = codePoint;
    else ranges.push([codePoint, codePoint]);
  }
  return ranges;
}

const escaped = (codePoint: number) => `\\u${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * A pattern matching exactly the strings that hold none of `ranges`' code points, written so that
 * the usual regex engines all read it the same way. Engines read a string either by code point
 * (ECMA-262 with the `u` flag, as ajv compiles patterns; Python's `re`, with which Schemathesis
 * generates values; Rust's fancy-regex, with which it validates them; Java) or by UTF-16 code unit
 * (ECMA-262 without the `u` flag, the dialect JSON Schema names; .NET). `\p{…}` is unknown to
 * Python and to ECMA-262 without `u`; `\u{…}` is ECMA-262-with-`u` only, `\U0001D173` Python's
 * and Rust's only; an astral character, or an escaped surrogate pair, inside a class is one code
 * point to the first kind and two unrelated code units to the second. So: the BMP code points as
 * `\uXXXX` ranges of a negated class (one code unit either way), and the astral ones as literal
 * characters in a negative lookahead, outside any class, where each is one code point to the first
 * kind and its two code units in a row to the second. Lookahead is in JSON Schema's recommended
 * regex subset; `\uXXXX` is read by ECMA-262, Python, Java, .NET and Rust (not by Go's RE2, which
 * has no lookahead either).
 */
function portablePattern(ranges: readonly CodePointRange[]): string {
  const bmp: string[] = [];
  const astral: string[] = [];
  for (const [first, last] of ranges) {
    if (first <= 0xffff) {
      const end = Math.min(last, 0xffff);
      bmp.push(first === end ? escaped(first) : `${escaped(first)}-${escaped(end)}`);
    }
    for (let codePoint = Math.max(first, 0x10000); codePoint <= last; codePoint++) astral.push(String.fromCodePoint(codePoint));
  }
  const character = `[^${bmp.join('')}]`;
  return astral.length === 0 ? `^${character}*$` : `^(?:(?!${astral.join('|')})${character})*$`;
}

/**
 * The same rule as a JSON Schema pattern, portable (portablePattern): published in the OpenAPI
 * document for `instrument`; test/unit/control-characters.test.ts proves it accepts exactly what
 * the server's check does, code point by code point, read with and without the `u` flag.
 */
export const NO_CONTROL_CHARACTERS_PATTERN = portablePattern(codePointRanges(CONTROL_OR_FORMAT));

/** The first control or format character of `text`, as `U+XXXX at position N` (in code points), or undefined. */
function firstControlCharacter(text: string): string | undefined {
  if (!CONTROL_OR_FORMAT.test(text)) return undefined;
  const characters = [...text];
  const index = characters.findIndex((character) => CONTROL_OR_FORMAT.test(character));
  const codePoint = characters[index]!.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
  return `U+${codePoint} at position ${index}`;
}

/**
 * One 422 entry for each of `names` whose value (a string, or a list of strings as a repeated
 * query parameter gives) holds a control or format character; `where` is the first part of its loc.
 */
export function controlCharacterDetails(
  values: Record<string, unknown>,
  names: Iterable<string>,
  where: 'body' | 'query' | 'path',
): ValidationDetail[] {
  const details: ValidationDetail[] = [];
  for (const name of names) {
    const found = [values[name]]
      .flat()
      .map((value) => (typeof value === 'string' ? firstControlCharacter(value) : undefined))
      .find((position) => position !== undefined);
    if (found === undefined) continue;
    details.push({
      loc: [where, name],
      msg: `String should not contain control or format characters (Unicode Cc, Cf): ${found}`,
      type: CONTROL_CHARACTER_TYPE,
    });
  }
  return details;
}

/** `details` without the entries for a field that `preferred` already names: one entry per field. */
export function mergeDetails(preferred: ValidationDetail[], details: ValidationDetail[]): ValidationDetail[] {
  const named = new Set(preferred.map((detail) => JSON.stringify(detail.loc)));
  return [...preferred, ...details.filter((detail) => !named.has(JSON.stringify(detail.loc)))];
}
