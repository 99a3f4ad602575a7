import type pg from 'pg';
import { SYSTEM_ACTOR } from '../domain/accounts.js';
import { CLAIMABLE_STATUSES, type OrderStatus, sourcesOf } from '../domain/order.js';
import type { OrdersRepository } from './orders-repository.js';

// The order workflow's status changes (OrdersRepository's claimForPlacement, markPlaced and
// markCancelled, same statements, same results), each a named prepared statement on
// node-postgres: the worker runs one or two of them per order, and Prisma's query building and
// result mapping cost it more CPU than the statement costs PostgreSQL (issue #24). The statuses
// each change may start from come from the lifecycle table once, as the repository's do.
// test/component/lifecycle.test.ts holds both to the table.

const CLAIM_FROM = sourcesOf('placing', 'workflow');
const PLACED_FROM = sourcesOf('placed', 'workflow');
const CANCELLED_FROM = sourcesOf('cancelled', 'workflow');

const STATUS = { name: 'placement-status', text: `SELECT "status" FROM "orders" WHERE "id" = $1::uuid` };
const CLAIM = {
  name: 'placement-claim',
  text: `UPDATE "orders" SET "status" = 'placing', "status_actor" = $2 WHERE "id" = $1::uuid AND "status" = ANY($3::"OrderStatus"[])`,
};
// One statement for both of markPlaced's cases: placing -> placed with its times; or, when the
// venue's reports moved the order on already (the ingestion process got there first), the times
// filled in where still empty, its status untouched (the status trigger records no event for
// it). Neither for a claimable order (never claimed: not placed) or one with nothing to fill in.
const MARK_PLACED = {
  name: 'placement-mark-placed',
  text: `UPDATE "orders" SET
      "status" = CASE WHEN "status" = ANY($5::"OrderStatus"[]) THEN 'placed' ELSE "status" END,
      "status_actor" = CASE WHEN "status" = ANY($5::"OrderStatus"[]) THEN $4 ELSE "status_actor" END,
      "placed_at" = CASE WHEN "status" = ANY($5::"OrderStatus"[]) THEN $2 ELSE COALESCE("placed_at", $2) END,
      "expires_at" = CASE WHEN "status" = ANY($5::"OrderStatus"[]) THEN $3::timestamptz ELSE COALESCE("expires_at", $3::timestamptz) END
    WHERE "id" = $1::uuid AND ("status" = ANY($5::"OrderStatus"[]) OR ("status" <> ALL($6::"OrderStatus"[])
      AND ("placed_at" IS NULL OR ("expires_at" IS NULL AND $3::timestamptz IS NOT NULL))))
    RETURNING "status"`,
};
const MARK_CANCELLED = {
  name: 'placement-mark-cancelled',
  text: `UPDATE "orders" SET "status" = 'cancelled', "cancelled_at" = now(), "status_actor" = COALESCE("cancel_requested_by", $2)
    WHERE "id" = $1::uuid AND "status" = ANY($3::"OrderStatus"[])`,
};

export class PlacementStore implements Pick<OrdersRepository, 'claimForPlacement' | 'markPlaced' | 'markCancelled'> {
  constructor(private readonly pool: pg.Pool) {}

  /** pending | accepted -> placing. Returns the status after the attempt, or null for an unknown order. */
  async claimForPlacement(id: string): Promise<OrderStatus | null> {
    const { rowCount } = await this.pool.query({ ...CLAIM, values: [id, SYSTEM_ACTOR, CLAIM_FROM] });
    return rowCount === 1 ? 'placing' : this.status(id);
  }

  /** placing -> placed with its times, or only the times where the venue's reports got there first. */
  async markPlaced(id: string, placedAt: Date, expiresAt: Date | null = null): Promise<OrderStatus | null> {
    const { rows } = await this.pool.query<{ status: OrderStatus }>({
      ...MARK_PLACED,
      values: [id, placedAt, expiresAt, SYSTEM_ACTOR, PLACED_FROM, CLAIMABLE_STATUSES],
    });
    return rows[0]?.status ?? this.status(id);
  }

  /** accepted | placing -> cancelled (never placed). Returns the status after the attempt, or null for an unknown order. */
  async markCancelled(id: string): Promise<OrderStatus | null> {
    const { rowCount } = await this.pool.query({ ...MARK_CANCELLED, values: [id, SYSTEM_ACTOR, CANCELLED_FROM] });
    return rowCount === 1 ? 'cancelled' : this.status(id);
  }

  private async status(id: string): Promise<OrderStatus | null> {
    const { rows } = await this.pool.query<{ status: OrderStatus }>({ ...STATUS, values: [id] });
    return rows[0]?.status ?? null;
  }
}
