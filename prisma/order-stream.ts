import pg from 'pg';
import type { Order } from '../domain/order.js';
import { moneyUnits, type Position } from '../domain/positions.js';
import { type OrderRecord, toOrder } from './order-row.js';

// Reads of the order event stream (table order_stream, GET /events). Ids alone are not in commit
// order (a transaction that took its id first may commit last), so a reader goes by (tx, id) and
// reads only rows of transactions below the snapshot's xmin: every one of those is finished, and
// no transaction that starts later can get a smaller xid. A row once read is never followed by
// one that sorts before it.
//
// Through node-postgres, not Prisma, and narrow: the row's own columns and the fields of its
// `state` that the event shows, each as text; no jsonb_populate_record. A status row's state is
// the whole orders row. A fill row holds only what a fill can change, the order's fixed fields
// coming from its orders row: in a small JSON state (fill rows of issue #23's first step) or, since
// migration …_order_stream_fill_columns, in plain columns, with its report read from the
// executions row it names (COLUMNS). Decimals come as their exact text at their column's scale,
// timestamps as timestamptz (a JSON state's ISO text cast back), read into Dates by a parser for
// the form a UTC session writes (STREAM_TYPES). The expressions are only what the row needs: a
// fill row (all but a few of the rows) costs PostgreSQL a lookup of its order and its execution,
// not a formatting of every field (to_char, jsonb_build_object: twice the CPU per row, measured).

/** A place in the stream: the writing transaction's id, then the row's id. */
export interface StreamPosition {
  tx: bigint;
  id: bigint;
}

export const STREAM_START: StreamPosition = { tx: 0n, id: 0n };

export function comparePositions(a: StreamPosition, b: StreamPosition): number {
  if (a.tx !== b.tx) return a.tx < b.tx ? -1 : 1;
  if (a.id !== b.id) return a.id < b.id ? -1 : 1;
  return 0;
}

export function laterPosition(a: StreamPosition, b: StreamPosition): StreamPosition {
  return comparePositions(a, b) >= 0 ? a : b;
}

/** One row of the stream, with the order as it stood after the event. */
export interface StreamRow {
  position: StreamPosition;
  orderId: string;
  /** The order's account (rows stored before accounts existed: the demo account's, set by the migration). */
  accountId: string;
  kind: string;
  at: Date;
  order: Order;
  /** The venue's execution report, for a fill (JSON as the ingestion stored it). */
  execution: unknown;
  /** A fill's position after it (its account's, in the order's instrument); null for other rows and fill rows written before …_positions. */
  accountPosition: Position | null;
}

/** Which rows a catch-up reads: one account's, and only one order's with an orderId. */
export interface StreamScope {
  accountId: string;
  orderId: string | null;
}

/** What the reader needs of a node-postgres pool or client. */
export interface StreamDatabase {
  query<R extends object>(query: { text: string; values: unknown[]; types?: pg.CustomTypesConfig }): Promise<{ rows: R[] }>;
}

// Once per statement (an InitPlan), not per row: the xmin below which every transaction is finished.
const FINISHED = `s."tx" < (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint)`;

/**
 * A field of the order that no status or fill changes: from the row's state when the state has it
 * (a status or `amended` row, a fill row written before fill rows were narrow), else from the
 * order's row (a narrow fill row). A key present with JSON null stays null. Since amends (issue
 * #26) `quantity`, `limit_price` and `time_in_force` can change: a narrow fill row shows them as
 * the order's row has them when it is read (after a later amend, the amended values); the
 * `amended` row that changed them holds them as they became.
 */
const fixed = (field: string, joined: string) => `CASE WHEN s."state" ? '${field}' THEN s."state"->>'${field}' ELSE ${joined} END`;

/** A timestamp of the row's JSON state (ISO text, as to_jsonb wrote it) as the timestamptz it was. */
const stateTime = (field: string) => `(s."state"->>'${field}')::timestamptz`;

/** `fixed` for a timestamp. */
const fixedTime = (field: string, joined: string) => `CASE WHEN s."state" ? '${field}' THEN ${stateTime(field)} ELSE ${joined} END`;

/**
 * A field an event can change: from the row's state when it has one (a status row, a fill row
 * written before …_order_stream_fill_columns), else from the fill row's own column.
 */
const changed = (field: string, column: string) => `CASE WHEN s."state" IS NULL THEN ${column} ELSE s."state"->>'${field}' END`;

/** `changed` for a timestamp. */
const changedTime = (field: string, column: string) => `CASE WHEN s."state" IS NULL THEN ${column} ELSE ${stateTime(field)} END`;

/**
 * A fill's report: the JSON stored with the row (fill rows written before
 * …_order_stream_fill_columns), else the columns of the executions row it names, which
 * toStreamRow puts under the report's names (prices at the column's scale, as GET
 * /orders/:id/executions shows them).
 */
const EXECUTION = `s."execution_id", CASE WHEN s."execution_id" IS NULL THEN s."execution" END AS "execution",
  e."exec_id", e."exec_type", e."last_qty", e."last_px"::text AS "last_px", e."cum_qty", e."leaves_qty", e."venue_time"`;

/**
 * The columns of a StreamRow: the order's fields named as the orders table names them
 * (OrderRecord). What an event can change (status, quantities, times, rejected_reason,
 * expires_at) a status row's state holds, and a fill row's own columns; the rest comes from the
 * order's row unless the state has it.
 */
const COLUMNS = `s."tx", s."id" AS "stream_id", s."order_id" AS "id", s."account_id", s."kind", s."at", ${EXECUTION},
  ${fixed('type', 'o."type"::text')} AS "type", ${fixed('side', 'o."side"::text')} AS "side",
  ${fixed('instrument', 'o."instrument"')} AS "instrument",
  CASE WHEN s."state" ? 'limit_price' THEN (s."state"->>'limit_price')::numeric(18,2)::text ELSE o."limit_price"::text END AS "limit_price",
  CASE WHEN s."state" ? 'stop_price' THEN (s."state"->>'stop_price')::numeric(18,2)::text ELSE o."stop_price"::text END AS "stop_price",
  ${fixed('quantity', 'o."quantity"::text')} AS "quantity",
  ${changed('status', 's."status"::text')} AS "status",
  ${fixedTime('created_at', 'o."created_at"')} AS "created_at",
  ${changedTime('placed_at', 's."placed_at"')} AS "placed_at",
  ${changedTime('rejected_at', 's."rejected_at"')} AS "rejected_at", ${changed('rejected_reason', 's."rejected_reason"')} AS "rejected_reason",
  ${changedTime('cancelled_at', 's."cancelled_at"')} AS "cancelled_at", ${fixed('time_in_force', 'o."time_in_force"::text')} AS "time_in_force",
  ${changed('filled_quantity', 's."filled_quantity"::text')} AS "filled_quantity",
  CASE WHEN s."state" IS NULL THEN s."filled_notional"::text ELSE (s."state"->>'filled_notional')::numeric(38,4)::text END AS "filled_notional",
  ${changedTime('filled_at', 's."filled_at"')} AS "filled_at", ${changedTime('expired_at', 's."expired_at"')} AS "expired_at",
  ${changedTime('expires_at', 's."expires_at"')} AS "expires_at",
  ${fixed('client_order_id', 'o."client_order_id"')} AS "client_order_id",
  s."position_quantity"::text AS "position_quantity", s."position_average_entry_price"::text AS "position_average_entry_price",
  s."position_realized_pnl"::text AS "position_realized_pnl", s."position_updated_at"`;

/**
 * The rows `where` picks, at most `limit`, in stream order, each with its order's fields: the
 * stream's index scan and LIMIT first, then the orders row of each of those (by primary key).
 * No order is ever deleted; LEFT all the same: a row whose state is whole does not need its order.
 * LATERAL, so that each is a probe of the primary key: a plain join left the planner free to hash
 * the whole orders (and executions) table once per poll, a cost that grows with the tables.
 */
const rowsSql = (where: string, limit: string) => `SELECT ${COLUMNS} FROM (
  SELECT * FROM "order_stream" s WHERE ${where} AND ${FINISHED} ORDER BY s."tx", s."id" LIMIT ${limit}) s
  LEFT JOIN LATERAL (SELECT * FROM "orders" WHERE "id" = s."order_id") o ON true
  LEFT JOIN LATERAL (SELECT * FROM "executions" WHERE "id" = s."execution_id") e ON true
  ORDER BY s."tx", s."id"`;

/** The poller's read: every account's rows after a position ($1, $2), at most $3. */
export const ROWS_AFTER_SQL = rowsSql(`(s."tx", s."id") > ($1::bigint, $2::bigint)`, '$3');

/** A catch-up's read: account $3's rows after a position ($1, $2), at most $4 (index (account_id, tx, id)). */
export const ACCOUNT_ROWS_AFTER_SQL = rowsSql(`s."account_id" = $3::uuid AND (s."tx", s."id") > ($1::bigint, $2::bigint)`, '$4');

/** The same for one order $5 of the account (index (order_id, tx, id)). */
export const ORDER_ROWS_AFTER_SQL = rowsSql(
  `s."order_id" = $5::uuid AND s."account_id" = $3::uuid AND (s."tx", s."id") > ($1::bigint, $2::bigint)`,
  '$4',
);

const TAIL_SQL = `SELECT s."tx", s."id" FROM "order_stream" s WHERE ${FINISHED} ORDER BY s."tx" DESC, s."id" DESC LIMIT 1`;

type RawStreamRow = OrderRecord & {
  tx: string;
  stream_id: string;
  kind: string;
  at: Date;
  execution_id: string | null;
  /** The report stored with a fill row written before …_order_stream_fill_columns. */
  execution: unknown;
  exec_id: string | null;
  exec_type: string | null;
  last_qty: number | null;
  last_px: string | null;
  cum_qty: number | null;
  leaves_qty: number | null;
  venue_time: Date | null;
  position_quantity: string | null;
  position_average_entry_price: string | null;
  position_realized_pnl: string | null;
  position_updated_at: Date | null;
};

/** A fill row's position columns (migration …_positions), all set or none. */
function accountPositionOf(row: RawStreamRow): Position | null {
  if (row.position_quantity === null || row.position_average_entry_price === null || row.position_realized_pnl === null) return null;
  return {
    quantity: Number(row.position_quantity),
    averageEntryPrice: moneyUnits(row.position_average_entry_price),
    realizedPnl: moneyUnits(row.position_realized_pnl),
    updatedAt: row.position_updated_at?.toISOString() ?? null,
  };
}

/** The fill's report under the venue's names: the executions row a narrow fill row names, or the JSON stored with an older row. */
function executionOf(row: RawStreamRow): unknown {
  if (row.execution_id === null) return row.execution;
  return {
    exec_id: row.exec_id,
    exec_type: row.exec_type,
    last_qty: row.last_qty,
    last_px: row.last_px,
    cum_qty: row.cum_qty,
    leaves_qty: row.leaves_qty,
    transact_time: row.venue_time?.toISOString() ?? null,
  };
}

function toStreamRow(row: RawStreamRow): StreamRow {
  return {
    position: { tx: BigInt(row.tx), id: BigInt(row.stream_id) },
    orderId: row.id,
    accountId: row.account_id,
    kind: row.kind,
    at: row.at,
    order: toOrder(row),
    execution: executionOf(row),
    accountPosition: accountPositionOf(row),
  };
}

const TIMESTAMPTZ_OID = 1184;
const standardTimestamptz = pg.types.getTypeParser(TIMESTAMPTZ_OID, 'text');
/** `YYYY-MM-DD HH:MM:SS[.fff]+00`: how a session whose TimeZone is UTC writes a timestamptz(3). */
const UTC_TIMESTAMP = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,3}))?\+00$/;

/**
 * A timestamptz as a Date: the form a UTC session writes read by its digits (a third of the
 * general parser's CPU, which an API process pays for every timestamp of every event it reads);
 * any other form by node-postgres's own parser.
 */
export function parseTimestamptz(text: string): Date {
  const m = UTC_TIMESTAMP.exec(text);
  if (m === null) return standardTimestamptz(text) as Date;
  const ms = m[7] === undefined ? 0 : Number(m[7].padEnd(3, '0'));
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), ms));
}

/** The stream reads' type parsers: node-postgres's, but for timestamptz. */
const STREAM_TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === TIMESTAMPTZ_OID ? parseTimestamptz : pg.types.getTypeParser(oid, format ?? 'text')) as pg.CustomTypesConfig['getTypeParser'],
};

/** A session setting for the stream's connections (pg.Pool's `options`): timestamps in the form parseTimestamptz reads fastest. */
export const STREAM_SESSION_OPTIONS = '-c TimeZone=UTC';

export class OrderStreamQuery {
  constructor(private readonly db: StreamDatabase) {}

  /** The last finished row, or STREAM_START for an empty stream: where a reader that wants only new events starts. */
  async tail(): Promise<StreamPosition> {
    const { rows } = await this.db.query<{ tx: string; id: string }>({ text: TAIL_SQL, values: [] });
    const row = rows[0];
    return row ? { tx: BigInt(row.tx), id: BigInt(row.id) } : STREAM_START;
  }

  /** Up to `limit` finished rows after `after`, of every account, in stream order (the poller's read). */
  async after(after: StreamPosition, limit: number): Promise<StreamRow[]> {
    const { rows } = await this.db.query<RawStreamRow>({
      text: ROWS_AFTER_SQL,
      values: [after.tx.toString(), after.id.toString(), limit],
      types: STREAM_TYPES,
    });
    return rows.map(toStreamRow);
  }

  /** Up to `limit` finished rows after `after` in the scope (its account's; one order's with its orderId), in stream order. */
  async afterInScope(scope: StreamScope, after: StreamPosition, limit: number): Promise<StreamRow[]> {
    const values: unknown[] = [after.tx.toString(), after.id.toString(), scope.accountId, limit];
    const { rows } =
      scope.orderId === null
        ? await this.db.query<RawStreamRow>({ text: ACCOUNT_ROWS_AFTER_SQL, values, types: STREAM_TYPES })
        : await this.db.query<RawStreamRow>({ text: ORDER_ROWS_AFTER_SQL, values: [...values, scope.orderId], types: STREAM_TYPES });
    return rows.map(toStreamRow);
  }
}
