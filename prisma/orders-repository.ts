import { type NewOrder, type Order, type OrderEvent, type OrderStatus, sourcesOf } from '../domain/order.js';
import type { PrismaClient } from './client.js';
import type { Order as OrderRow } from './generated/client.js';

/**
 * All reads and writes of orders. Status changes are conditional UPDATEs from the statuses the
 * lifecycle table (domain/order.ts TRANSITIONS) allows: when two actors race (the API rejecting
 * an order whose workflow start it could not confirm, and that workflow claiming it), the
 * database lets exactly one of them win.
 */
export class OrdersRepository {
  constructor(private readonly db: PrismaClient) {}

  async create(order: NewOrder, idempotencyKey?: string): Promise<Order> {
    const row = await this.db.order.create({
      data: {
        type: order.type,
        side: order.side,
        instrument: order.instrument,
        limitPrice: order.limitPrice,
        quantity: order.quantity,
        idempotencyKey: idempotencyKey ?? null,
      },
    });
    return toOrder(row);
  }

  async find(id: string): Promise<Order | null> {
    const row = await this.db.order.findUnique({ where: { id } });
    return row ? toOrder(row) : null;
  }

  async findByIdempotencyKey(key: string): Promise<Order | null> {
    const row = await this.db.order.findUnique({ where: { idempotencyKey: key } });
    return row ? toOrder(row) : null;
  }

  /** Frees a key held by a rejected order, so that a retry with the key can try again. */
  async releaseIdempotencyKey(key: string): Promise<void> {
    await this.db.order.updateMany({ where: { idempotencyKey: key, status: 'rejected' }, data: { idempotencyKey: null } });
  }

  /** pending -> accepted: the API records that the order's workflow runs. Returns the status after. */
  async accept(id: string): Promise<OrderStatus | null> {
    return this.transition(id, { status: 'accepted' });
  }

  /**
   * pending | accepted -> placing: the workflow takes the order. It races the API's rejection of
   * an order whose start it could not confirm; whichever UPDATE the database runs first wins.
   * Returns the status after the attempt, or null for an unknown order.
   */
  async claimForPlacement(id: string): Promise<OrderStatus | null> {
    return this.transition(id, { status: 'placing' });
  }

  /** accepted | placing -> cancelled. Returns the status after the attempt, or null for an unknown order. */
  async markCancelled(id: string): Promise<OrderStatus | null> {
    return this.transition(id, { status: 'cancelled', cancelledAt: new Date() });
  }

  /** The statuses the order took, oldest first. */
  async events(id: string): Promise<OrderEvent[]> {
    return this.db.orderEvent.findMany({
      where: { orderId: id },
      orderBy: { id: 'asc' },
      select: { status: true, at: true, reason: true },
    });
  }

  /** placing -> placed, with the time the exchange accepted it. */
  async markPlaced(id: string, placedAt: Date): Promise<OrderStatus | null> {
    return this.transition(id, { status: 'placed', placedAt });
  }

  /** pending -> rejected. Returns the status after the attempt, or null for an unknown order. */
  async rejectIfPending(id: string, reason: string): Promise<OrderStatus | null> {
    return this.transition(id, { status: 'rejected', rejectedAt: new Date(), rejectedReason: reason });
  }

  /**
   * Orders still pending `olderThanMs` after they were stored (by the database's clock), oldest
   * first, at most `limit`: their request ended long ago, with or without starting a workflow.
   */
  async stalePending(olderThanMs: number, limit: number): Promise<string[]> {
    const rows = await this.db.$queryRaw<{ id: string }[]>`
      SELECT "id" FROM "orders"
      WHERE "status" = 'pending' AND "created_at" < now() - make_interval(secs => ${olderThanMs / 1000})
      ORDER BY "created_at" LIMIT ${limit}`;
    return rows.map((row) => row.id);
  }

  /** To `data.status` from any status the table allows; returns the status after, or null for an unknown order. */
  private async transition(
    id: string,
    data: { status: OrderStatus; placedAt?: Date; rejectedAt?: Date; rejectedReason?: string; cancelledAt?: Date },
  ): Promise<OrderStatus | null> {
    const { count } = await this.db.order.updateMany({ where: { id, status: { in: sourcesOf(data.status) } }, data });
    if (count === 1) return data.status;
    const current = await this.db.order.findUnique({ where: { id }, select: { status: true } });
    return current?.status ?? null;
  }
}

export function toOrder(row: OrderRow): Order {
  return {
    id: row.id,
    type: row.type,
    side: row.side,
    instrument: row.instrument,
    // NUMERIC(18,2) read as a decimal and written back as text: never a float on the way.
    limitPrice: row.limitPrice === null ? null : row.limitPrice.toFixed(2),
    quantity: row.quantity,
    status: row.status,
    createdAt: row.createdAt,
    placedAt: row.placedAt,
    rejectedAt: row.rejectedAt,
    rejectedReason: row.rejectedReason,
    cancelledAt: row.cancelledAt,
  };
}
