import { LosslessNumber, stringify } from 'lossless-json';
import { type Order, type OrderEvent, workflowIdFor } from '../domain/order.js';

/**
 * The order as clients see it. `limit_price` is written as a JSON number whose text is the
 * exact stored decimal (e.g. 101.25), so decimal-aware clients read it without rounding.
 */
export function orderJson(order: Order, events?: OrderEvent[]): string {
  const body = {
    id: order.id,
    client_order_id: order.clientOrderId,
    created_at: order.createdAt.toISOString(),
    type: order.type,
    side: order.side,
    instrument: order.instrument,
    limit_price: order.limitPrice === null ? null : new LosslessNumber(order.limitPrice),
    quantity: order.quantity,
    time_in_force: order.timeInForce,
    status: order.status,
    placed_at: order.placedAt?.toISOString() ?? null,
    rejected_reason: order.rejectedReason,
    cancelled_at: order.cancelledAt?.toISOString() ?? null,
    filled_quantity: order.filledQuantity,
    average_fill_price: order.averageFillPrice === null ? null : new LosslessNumber(order.averageFillPrice),
    filled_at: order.filledAt?.toISOString() ?? null,
    expires_at: order.expiresAt?.toISOString() ?? null,
    expired_at: order.expiredAt?.toISOString() ?? null,
    workflow_id: workflowIdFor(order.id),
    // The order's history, where an answer is about one order (GET /orders/:id, DELETE).
    ...(events
      ? { events: events.map((event) => ({ status: event.status, at: event.at.toISOString(), reason: event.reason, actor: event.actor })) }
      : {}),
  };
  return stringify(body) as string;
}
