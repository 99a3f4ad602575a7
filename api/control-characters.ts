import type { ValidationDetail } from './errors.js';

/**
 * Control and format characters (Unicode categories Cc and Cf: NUL, the C0 and C1 controls, bidi
 * overrides, zero-width characters, the BOM, …) have no place in any string this API takes: they
 * are invisible or reorder text in logs and screens, and PostgreSQL refuses NUL outright (22021).
 */
const CONTROL_OR_FORMAT = /[\p{Cc}\p{Cf}]/u;

export const CONTROL_CHARACTER_TYPE = 'string_control_character';

/** The same rule as a JSON Schema pattern (ECMA-262 with the `u` flag, as JSON Schema validators compile it). */
export const NO_CONTROL_CHARACTERS_PATTERN = '^[^\\p{Cc}\\p{Cf}]*$';

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
  where: 'body' | 'query',
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
