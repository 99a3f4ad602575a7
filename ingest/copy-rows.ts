import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/**
 * COPY … FROM STDIN in PostgreSQL's text format (issue #23): the batch's rows go as one stream
 * that the server parses column by column, with no statement to plan and no array literal to
 * build and take apart again; measured 1.4–2× an INSERT of the same rows from unnest arrays
 * (docs/executions.md, "Batches"). COPY has no ON CONFLICT: a row that breaks a constraint fails
 * the statement, and with it the batch's transaction.
 */

/** A value of a row: null is SQL NULL; anything else is written as its text. */
export type CopyValue = string | number | null;

/** One field in COPY's text format: backslash, tab, newline and carriage return escaped, null as `\N`. */
export function copyField(value: CopyValue): string {
  if (value === null) return '\\N';
  const text = typeof value === 'number' ? String(value) : value;
  // Most fields need no escape: one test, not four replacements.
  if (!/[\\\t\n\r]/.test(text)) return text;
  return text.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

/** The rows as COPY's text format: fields separated by tabs, each row ended by a newline. */
export function copyText(rows: readonly (readonly CopyValue[])[]): string {
  let text = '';
  for (const row of rows) {
    for (let i = 0; i < row.length; i++) text += (i === 0 ? '' : '\t') + copyField(row[i]!);
    text += '\n';
  }
  return text;
}

/** Copies the rows into `table`'s `columns` (quoted identifiers); resolves with the rows the server counted. */
export function copyRows(
  client: pg.PoolClient | pg.Client,
  table: string,
  columns: readonly string[],
  rows: readonly (readonly CopyValue[])[],
): Promise<number> {
  return copyLines(client, table, columns, rows.length, copyText(rows));
}

/** Copies `count` rows already in COPY's text format (each ended by a newline). */
export async function copyLines(
  client: pg.PoolClient | pg.Client,
  table: string,
  columns: readonly string[],
  count: number,
  text: string,
): Promise<number> {
  if (count === 0) return 0;
  const stream = client.query(copyFrom(`COPY "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) FROM STDIN`));
  await pipeline(Readable.from([text]), stream);
  return Number(stream.rowCount ?? 0);
}
