import { proxyActivities } from '@temporalio/workflow';
import type { OrderActivities } from '../activities/order-activities.js';
import type { OrderStatus, OrderTicket } from '../domain/order.js';
import { DATABASE_ACTIVITY, EXCHANGE_ACTIVITY } from './placement-policy.js';

const { claimOrder, markOrderPlaced } = proxyActivities<OrderActivities>(DATABASE_ACTIVITY);
const { placeAtExchange } = proxyActivities<OrderActivities>(EXCHANGE_ACTIVITY);

export interface PlacementOutcome {
  orderId: string;
  status: Extract<OrderStatus, 'placed' | 'rejected'>;
}

/**
 * Places one order at the exchange. Started by the API with the order as input and an id
 * derived from the order id; once started, Temporal keeps it going across worker crashes.
 */
export async function placeOrderWorkflow(ticket: OrderTicket): Promise<PlacementOutcome> {
  const claimed = await claimOrder(ticket.id);
  if (claimed === 'rejected') return { orderId: ticket.id, status: 'rejected' };
  if (claimed === 'placing') {
    await placeAtExchange(ticket);
    await markOrderPlaced(ticket.id);
  }
  // 'placed' here means an earlier run of this workflow already finished the job.
  return { orderId: ticket.id, status: 'placed' };
}
