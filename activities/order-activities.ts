import { ApplicationFailure } from '@temporalio/activity';
import type { OrderStatus, OrderTicket } from '../domain/order.js';
import type { OrdersRepository } from '../prisma/orders-repository.js';
import { MissingOrderError, type Exchange } from './exchange.js';

export interface OrderActivityDeps {
  orders: OrdersRepository;
  exchange: Exchange;
  now?: () => Date;
}

export type OrderActivities = ReturnType<typeof createOrderActivities>;

export function createOrderActivities({ orders, exchange, now = () => new Date() }: OrderActivityDeps) {
  return {
    /** pending -> placing, racing the API's rejection; returns who won as the resulting status. */
    async claimOrder(orderId: string): Promise<OrderStatus> {
      const status = await orders.claimForPlacement(orderId);
      if (status === null) throw ApplicationFailure.nonRetryable(`Order ${orderId} does not exist`, 'UnknownOrder');
      return status;
    },

    async placeAtExchange(ticket: OrderTicket): Promise<void> {
      try {
        await exchange.placeOrder(ticket);
      } catch (error) {
        if (error instanceof MissingOrderError) {
          throw ApplicationFailure.nonRetryable(error.message, error.name);
        }
        throw error; // OrderPlacementError and anything unknown: retried by the workflow's policy
      }
    },

    async markOrderPlaced(orderId: string): Promise<void> {
      const status = await orders.markPlaced(orderId, now());
      if (status !== 'placed') {
        throw ApplicationFailure.nonRetryable(`Order ${orderId} is ${status ?? 'missing'}, cannot mark it placed`, 'InvalidTransition');
      }
    },
  };
}
