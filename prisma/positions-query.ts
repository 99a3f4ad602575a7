import { moneyUnits, type Position } from '../domain/positions.js';
import type { PrismaClient } from './client.js';

/** One stored position of an account (table positions, kept by the ingestion process). */
export interface StoredPosition {
  instrument: string;
  position: Position;
}

interface PositionRow {
  instrument: string;
  quantity: string;
  average_entry_price: string;
  realized_pnl: string;
  updated_at: Date;
}

const toStored = (row: PositionRow): StoredPosition => ({
  instrument: row.instrument,
  position: {
    quantity: Number(row.quantity),
    averageEntryPrice: moneyUnits(row.average_entry_price),
    realizedPnl: moneyUnits(row.realized_pnl),
    updatedAt: row.updated_at.toISOString(),
  },
});

/** The read side of GET /positions: an account's rows only. Decimals as their exact text. */
export class PositionsQuery {
  constructor(private readonly db: PrismaClient) {}

  /** The account's non-zero positions, by instrument (an account holds at most one per instrument it traded). */
  async open(accountId: string): Promise<StoredPosition[]> {
    const rows = await this.db.$queryRaw<PositionRow[]>`
      SELECT "instrument", "quantity"::text AS "quantity", "average_entry_price"::text AS "average_entry_price",
        "realized_pnl"::text AS "realized_pnl", "updated_at"
      FROM "positions" WHERE "account_id" = ${accountId}::uuid AND "quantity" <> 0 ORDER BY "instrument"`;
    return rows.map(toStored);
  }

  /** The account's position in the instrument, flat or not; null if it never traded it. */
  async find(accountId: string, instrument: string): Promise<StoredPosition | null> {
    const rows = await this.db.$queryRaw<PositionRow[]>`
      SELECT "instrument", "quantity"::text AS "quantity", "average_entry_price"::text AS "average_entry_price",
        "realized_pnl"::text AS "realized_pnl", "updated_at"
      FROM "positions" WHERE "account_id" = ${accountId}::uuid AND "instrument" = ${instrument}`;
    const row = rows[0];
    return row ? toStored(row) : null;
  }
}
