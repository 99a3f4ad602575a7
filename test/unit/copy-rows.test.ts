import { describe, expect, it } from 'vitest';
import { copyField, copyText } from '../../ingest/copy-rows.js';

// COPY's text format (PostgreSQL docs, "COPY", File Formats): a backslash starts an escape, tab
// and newline end a field and a row; what the ingestion copies (the venue's free `text`, JSON
// with escaped quotes and \n inside its strings) must reach the table as it was.
describe('copyField', () => {
  it('writes null as \\N and numbers as their text', () => {
    expect(copyField(null)).toBe('\\N');
    expect(copyField(42)).toBe('42');
    expect(copyField('100.25')).toBe('100.25');
  });

  it('escapes backslash, tab, newline and carriage return, and nothing else', () => {
    expect(copyField('a\\b')).toBe('a\\\\b');
    expect(copyField('a\tb\nc\rd')).toBe('a\\tb\\nc\\rd');
    expect(copyField('{"text":"line\\nnext \\"quoted\\""}')).toBe('{"text":"line\\\\nnext \\\\"quoted\\\\""}');
    expect(copyField('\\N')).toBe('\\\\N');
    expect(copyField('plain, "quoted" ünïcode')).toBe('plain, "quoted" ünïcode');
  });
});

describe('copyText', () => {
  it('separates fields by tabs and ends each row with a newline', () => {
    expect(
      copyText([
        ['a', 1, null],
        ['b\tc', 2, 'x'],
      ]),
    ).toBe('a\t1\t\\N\nb\\tc\t2\tx\n');
  });
});
