import { hasLimitPrice, isStopType, type NewOrder, type OrderStatus } from './order.js';

/**
 * The order in one line a person reads at a glance, as the Temporal Web UI shows it in the list of
 * workflows and on the workflow's page (its static summary): "buy 10 US0378331005 limit 187.25",
 * "sell 3 DE000BASF111 market", "sell 3 DE000BASF111 stop 95.00 limit 94.50".
 */
export function orderSummary(order: NewOrder): string {
  const stop = isStopType(order.type) ? `stop ${order.stopPrice} ` : '';
  const price = hasLimitPrice(order.type) ? `limit ${order.limitPrice}` : 'market';
  return `${order.side} ${order.quantity} ${order.instrument} ${stop}${price}`;
}

/** The workflow's current details (Temporal markdown): its order's live status, and the order as its latest amend made it. */
export function orderDetails(
  status: OrderStatus,
  amended?: { quantity: number; limitPrice: string | null; stopPrice?: string | null; timeInForce: string; filledQuantity: number },
): string {
  if (!amended) return `**status:** ${status}`;
  const stop = amended.stopPrice ? `stop ${amended.stopPrice}, ` : '';
  const price = amended.limitPrice === null ? 'market' : `limit ${amended.limitPrice}`;
  return (
    `**status:** ${status}\n\n**amended:** quantity ${amended.quantity}, ${stop}${price}, ${amended.timeInForce} ` +
    `(${amended.filledQuantity} filled when amended)`
  );
}
