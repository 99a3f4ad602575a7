import { DEMO_ACCOUNT_ID, SYSTEM_ACTOR } from '../domain/accounts.js';
import {
  type Actor,
  CLAIMABLE_STATUSES,
  type NewOrder,
  type Order,
  type OrderEvent,
  type OrderStatus,
  sourcesOf,
} from '../domain/order.js';
import type { PrismaClient } from './client.js';
import { ORDER_COLUMNS, type OrderRecord, toOrder } from './order-row.js';

/**
 * All reads and writes of orders. Status changes are conditional UPDATEs from the statuses the
 * lifecycle table (domain/order.ts TRANSITIONS) allows: when two actors race (the API rejecting
 * an order whose workflow start it could not confirm, and that workflow claiming it), the
 * database lets exactly one of them win.
 *
 * Scoped to an account (`forAccount`, what the API uses for a request), it creates orders for
 * that account and finds only that account's orders: another account's order is not found, as
 * an unknown id. Unscoped (the workflow's steps, the sweep), it finds every order by its id.
 */
export class OrdersRepository {
  constructor(
    private readonly db: PrismaClient,
    private readonly accountId?: string,
  ) {}

  /** The same store, seeing only `accountId`'s orders. */
  forAccount(accountId: string): OrdersRepository {
    return new OrdersRepository(this.db, accountId);
  }

  /** Inserts the order as `pending`; a client_order_id the account used before throws DuplicateClientOrderIdError. */
  async create(order: NewOrder, idempotencyKey?: string): Promise<Order> {
    const accountId = this.accountId ?? DEMO_ACCOUNT_ID;
    try {
      const rows = await this.db.$queryRaw<OrderRecord[]>`
        INSERT INTO "orders" AS o ("type", "side", "instrument", "limit_price", "stop_price", "quantity", "time_in_force", "idempotency_key",
          "account_id", "client_order_id")
        VALUES (${order.type}::"OrderType", ${order.side}::"OrderSide", ${order.instrument}, ${order.limitPrice}::numeric, ${order.stopPrice ?? null}::numeric,
          ${order.quantity}::int, ${order.timeInForce}::"TimeInForce", ${idempotencyKey ?? null}, ${accountId}::uuid,
          ${order.clientOrderId ?? null})
        RETURNING ${ORDER_COLUMNS}`;
      return toOrder(rows[0]!);
    } catch (error) {
      if (order.clientOrderId && isUniqueViolation(error, CLIENT_ORDER_ID_INDEX)) {
        const existing = await this.db.$queryRaw<{ id: string }[]>`
          SELECT "id" FROM "orders" WHERE "account_id" = ${accountId}::uuid AND "client_order_id" = ${order.clientOrderId}`;
        if (existing[0]) throw new DuplicateClientOrderIdError(order.clientOrderId, existing[0].id);
      }
      throw error;
    }
  }

  async find(id: string): Promise<Order | null> {
    const rows = await this.db.$queryRaw<OrderRecord[]>`SELECT ${ORDER_COLUMNS} FROM "orders" o
      WHERE o."id" = ${id}::uuid AND (${this.accountId ?? null}::uuid IS NULL OR o."account_id" = ${this.accountId ?? null}::uuid)`;
    return rows[0] ? toOrder(rows[0]) : null;
  }

  /** The orders with these ids (of the account, when scoped), by id; unknown ids are left out. */
  async findMany(ids: readonly string[]): Promise<Map<string, Order>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.$queryRaw<OrderRecord[]>`SELECT ${ORDER_COLUMNS} FROM "orders" o
      WHERE o."id" = ANY(${[...ids]}::uuid[]) AND (${this.accountId ?? null}::uuid IS NULL OR o."account_id" = ${this.accountId ?? null}::uuid)`;
    return new Map(rows.map((row) => [row.id, toOrder(row)]));
  }

  async findByIdempotencyKey(key: string): Promise<Order | null> {
    const rows = await this.db.$queryRaw<OrderRecord[]>`SELECT ${ORDER_COLUMNS} FROM "orders" o
      WHERE o."account_id" = ${this.accountId ?? DEMO_ACCOUNT_ID}::uuid AND o."idempotency_key" = ${key}`;
    return rows[0] ? toOrder(rows[0]) : null;
  }

  /** Frees a key held by a rejected order, so that a retry with the key can try again. */
  async releaseIdempotencyKey(key: string): Promise<void> {
    await this.db.order.updateMany({
      where: { accountId: this.accountId ?? DEMO_ACCOUNT_ID, idempotencyKey: key, status: 'rejected' },
      data: { idempotencyKey: null },
    });
  }

  /** Records who asked to cancel the order (a key id): the cancel's status change, whenever it comes, names it. */
  async recordCancelRequest(id: string, actor: string): Promise<void> {
    await this.db
      .$executeRaw`UPDATE "orders" SET "cancel_requested_by" = COALESCE("cancel_requested_by", ${actor}) WHERE "id" = ${id}::uuid`;
  }

  /** Records who asked to amend the order (a key id): the amend's event, when the venue's report of it is applied, names it. */
  async recordAmendRequest(id: string, actor: string): Promise<void> {
    await this.db.$executeRaw`UPDATE "orders" SET "amend_requested_by" = ${actor} WHERE "id" = ${id}::uuid`;
  }

  /** pending -> accepted: the API records that the order's workflow runs. Returns the status after. */
  async accept(id: string): Promise<OrderStatus | null> {
    return this.transition(id, 'api', { status: 'accepted' });
  }

  /**
   * pending | accepted -> placing: the workflow takes the order. It races the API's rejection of
   * an order whose start it could not confirm; whichever UPDATE the database runs first wins.
   * Returns the status after the attempt, or null for an unknown order.
   */
  async claimForPlacement(id: string): Promise<OrderStatus | null> {
    return this.transition(id, 'workflow', { status: 'placing' });
  }

  /** accepted | placing -> cancelled (never placed). Returns the status after the attempt, or null for an unknown order. */
  async markCancelled(id: string): Promise<OrderStatus | null> {
    const { count } = await this.db.$executeRaw`UPDATE "orders" SET "status" = 'cancelled', "cancelled_at" = now(),
      "status_actor" = COALESCE("cancel_requested_by", ${SYSTEM_ACTOR})
      WHERE "id" = ${id}::uuid AND "status" = ANY(${sourcesOf('cancelled', 'workflow')}::"OrderStatus"[])`.then((count) => ({ count }));
    if (count === 1) return 'cancelled';
    const current = await this.db.order.findUnique({ where: { id }, select: { status: true } });
    return current?.status ?? null;
  }

  /** The statuses the order took, oldest first. */
  async events(id: string): Promise<OrderEvent[]> {
    return this.db.orderEvent.findMany({
      where: { orderId: id },
      orderBy: { id: 'asc' },
      select: { status: true, at: true, reason: true, actor: true },
    });
  }

  /**
   * placing -> placed, with the time the exchange accepted it and, for a `day` order, when it
   * expires. The venue's reports may have moved the order on already (the ingestion process got
   * there first): then only the times are filled in where still empty.
   */
  async markPlaced(id: string, placedAt: Date, expiresAt: Date | null = null): Promise<OrderStatus | null> {
    const status = await this.transition(id, 'workflow', { status: 'placed', placedAt, expiresAt });
    // `placed` too: the venue's `new` report usually reaches the ingestion process before this
    // call, and its placing -> placed leaves expires_at empty. Writes nothing when the times are there.
    if (status !== null && !CLAIMABLE_STATUSES.includes(status)) {
      await this.db.$executeRaw`UPDATE "orders" SET "placed_at" = COALESCE("placed_at", ${placedAt}),
        "expires_at" = COALESCE("expires_at", ${expiresAt}::timestamptz) WHERE "id" = ${id}::uuid
        AND ("placed_at" IS NULL OR ("expires_at" IS NULL AND ${expiresAt}::timestamptz IS NOT NULL))`;
    }
    return status;
  }

  /** pending -> rejected. Returns the status after the attempt, or null for an unknown order. */
  async rejectIfPending(id: string, reason: string): Promise<OrderStatus | null> {
    return this.transition(id, 'api', { status: 'rejected', rejectedAt: new Date(), rejectedReason: reason });
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
    by: Actor,
    data: { status: OrderStatus; placedAt?: Date; expiresAt?: Date | null; rejectedAt?: Date; rejectedReason?: string; cancelledAt?: Date },
  ): Promise<OrderStatus | null> {
    // The actor column is the event's (the trigger copies it): these changes are the system's.
    const { count } = await this.db.order.updateMany({
      where: { id, status: { in: sourcesOf(data.status, by) } },
      data: { ...data, statusActor: SYSTEM_ACTOR },
    });
    if (count === 1) return data.status;
    const current = await this.db.order.findUnique({ where: { id }, select: { status: true } });
    return current?.status ?? null;
  }
}

const CLIENT_ORDER_ID_INDEX = 'orders_account_id_client_order_id_key';

/** A second order with a client_order_id the account used before (409, naming the first order). */
export class DuplicateClientOrderIdError extends Error {
  override readonly name = 'DuplicateClientOrderIdError';
  constructor(
    readonly clientOrderId: string,
    readonly existingOrderId: string,
  ) {
    super(`client_order_id ${clientOrderId} is already used by order ${existingOrderId}`);
  }
}

/** PostgreSQL's unique_violation (23505) on the given index, however the driver adapter wraps it. */
function isUniqueViolation(error: unknown, index: string): boolean {
  const text = JSON.stringify(error, Object.getOwnPropertyNames(error ?? {})) + String((error as Error)?.message ?? '');
  return (text.includes('23505') || text.toLowerCase().includes('unique')) && text.includes(index);
}
