import { describe, expect, it } from 'vitest';
import { controlCharacterDetails, NO_CONTROL_CHARACTERS_PATTERN } from '../../api/control-characters.js';

// The rule "no control or format character" (Unicode Cc, Cf) three ways: the server's check
// (api/control-characters.ts, `\p{Cc}` and `\p{Cf}`), and the pattern the OpenAPI document
// publishes, read by code point (the `u` flag: ajv; Python's `re` and Rust's regex read it so too)
// and by UTF-16 code unit (no `u` flag: JSON Schema's ECMA-262 dialect as written, .NET). All three
// must accept and refuse exactly the same strings, whatever this runtime's Unicode version is.

const REFERENCE = /^[\p{Cc}\p{Cf}]$/u;
const byCodePoint = new RegExp(NO_CONTROL_CHARACTERS_PATTERN, 'u');
const byCodeUnit = new RegExp(NO_CONTROL_CHARACTERS_PATTERN);
const serverRefuses = (text: string) => controlCharacterDetails({ field: text }, ['field'], 'body').length > 0;

describe('the published pattern and the server check the same rule', () => {
  it('for every code point, alone and inside text: all three agree with \\p{Cc}\\p{Cf}', () => {
    const disagreements: string[] = [];
    let refused = 0;
    for (let codePoint = 0; codePoint <= 0x10ffff; codePoint++) {
      if (codePoint === 0xd800) codePoint = 0xe000; // surrogates: below
      const character = String.fromCodePoint(codePoint);
      const expected = REFERENCE.test(character);
      if (expected) refused++;
      const text = `US${character}0378331005`;
      const answers = [!byCodePoint.test(character), !byCodeUnit.test(character), serverRefuses(text), !byCodeUnit.test(text)];
      if (answers.some((answer) => answer !== expected)) {
        disagreements.push(`U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}: ${answers} (expected ${expected})`);
      }
    }
    expect(disagreements.slice(0, 20)).toEqual([]);
    // Unicode 15.1–17: 65 Cc and 170 Cf code points (a newer version may add some; never none).
    expect(refused).toBeGreaterThanOrEqual(235);
  });

  it('for the astral format characters, in both readings and between other astral characters', () => {
    // The ones a class with astral members or escaped surrogate pairs gets wrong in one reading.
    const astral = [0x110bd, 0x110cd, 0x13430, 0x1343f, 0x1bca0, 0x1bca3, 0x1d173, 0x1d17a, 0xe0001, 0xe0020, 0xe007f];
    for (const codePoint of astral) {
      const text = `😀${String.fromCodePoint(codePoint)}😀`;
      expect(serverRefuses(text), text).toBe(true);
      expect(byCodePoint.test(text), text).toBe(false);
      expect(byCodeUnit.test(text), text).toBe(false);
    }
    // Their neighbours, sharing a lead surrogate with them, are text.
    for (const codePoint of [0x110bc, 0x110be, 0x13440, 0x1bc9f, 0x1d172, 0x1d17b, 0xe0000, 0xe0002, 0xe0080, 0x1f600]) {
      const text = `US${String.fromCodePoint(codePoint)}`;
      expect(serverRefuses(text), text).toBe(false);
      expect(byCodePoint.test(text), text).toBe(true);
      expect(byCodeUnit.test(text), text).toBe(true);
    }
  });

  it('for lone surrogates (category Cs, not Cc or Cf): accepted by all three, as the check leaves them to the JSON reader', () => {
    for (const text of ['\ud800', '\udfff', 'a\udc00b', '\udb40']) {
      expect(serverRefuses(text)).toBe(false);
      expect(byCodePoint.test(text)).toBe(true);
      expect(byCodeUnit.test(text)).toBe(true);
    }
  });

  it('is written without Unicode property escapes, code point escapes or astral characters in a class', () => {
    expect(NO_CONTROL_CHARACTERS_PATTERN).not.toMatch(/\\[pP]\{|\\u\{|\\U/);
    const classes = NO_CONTROL_CHARACTERS_PATTERN.match(/\[[^\]]*\]/g) ?? [];
    expect(classes).toHaveLength(1);
    expect(classes[0]).toMatch(/^\[\^(?:\\u[0-9A-F]{4}(?:-\\u[0-9A-F]{4})?)+\]$/);
  });
});
