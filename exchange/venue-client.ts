import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { OrderTicket } from '../domain/order.js';
import { parseAddress } from './address.js';
import { DuplicateOrderError, MissingOrderError, OrderCancelledAtExchangeError, OrderPlacementError } from './errors.js';
import type { Exchange } from './exchange.js';
import { onLines, parseLine } from './lines.js';
import {
  type CancelOrderResult,
  type ClientMessage,
  type ErrorMessage,
  encodeLine,
  type NewOrderResult,
  type ReplaceOrderResult,
  type VenueMessage,
  type VenueOrder,
  venueMessage,
} from './protocol.js';

export interface VenueClientOptions {
  /** host:port of the venue's order entry. */
  address: string;
  /** A request unanswered this long fails with OrderPlacementError (the workflow retries it). */
  requestTimeoutMs: number;
  connectTimeoutMs?: number;
  /** Test hooks: this connection's failure rate and latency at the venue instead of the venue's own. */
  failureRate?: number;
  latencyMs?: number;
  /** Test hook: the venue fails the first new_order of each order id (one retry per order). */
  firstAttemptFails?: boolean;
  /**
   * Test hook: the process kills itself (SIGKILL) right after the venue answered its n-th
   * acceptance, before the caller hears of it: the ambiguous failure that must not lead to a
   * second placement.
   */
  crashAfterAccepts?: number;
}

export interface VenueClient extends Exchange {
  close(): void;
}

/** A venue error that says this client sent something wrong (a bug, not an outage). */
export class VenueBadRequestError extends Error {
  override readonly name = 'VenueBadRequestError';
}

type Answer = NewOrderResult | CancelOrderResult | ReplaceOrderResult | ErrorMessage;

interface Pending {
  resolve(answer: Answer): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export function toVenueOrder(ticket: OrderTicket): VenueOrder {
  return {
    id: ticket.id,
    type: ticket.type,
    side: ticket.side,
    instrument: ticket.instrument,
    limit_price: ticket.limitPrice,
    stop_price: ticket.stopPrice ?? null,
    quantity: ticket.quantity,
    time_in_force: ticket.timeInForce ?? 'day',
  };
}

/**
 * The worker's order entry at the venue process (docs/executions.md): one TCP connection,
 * opened when needed and again after a loss, requests correlated by req_id. A request whose
 * connection drops, or whose answer does not come within requestTimeoutMs, fails with
 * OrderPlacementError: the workflow retries it, and a placement the venue did get then answers
 * `duplicate`, which the activity takes as placed.
 */
export function createVenueClient(options: VenueClientOptions): VenueClient {
  const { host, port } = parseAddress(options.address);
  const pending = new Map<string, Pending>();
  const prefix = randomBytes(4).toString('hex');
  let counter = 0;
  let connecting: Promise<net.Socket> | undefined;
  let closed = false;
  let accepts = 0;

  const failAll = () => {
    for (const [reqId, request] of pending) {
      clearTimeout(request.timer);
      pending.delete(reqId);
      request.reject(new OrderPlacementError());
    }
  };

  const connect = (): Promise<net.Socket> =>
    (connecting ??= new Promise<net.Socket>((resolve, reject) => {
      const socket = net.connect({ host, port });
      socket.setNoDelay(true);
      const timer = setTimeout(() => socket.destroy(new Error('connect timeout')), options.connectTimeoutMs ?? 2_000);
      socket.once('connect', () => {
        clearTimeout(timer);
        if (options.failureRate !== undefined || options.latencyMs !== undefined || options.firstAttemptFails !== undefined) {
          const entryOptions: ClientMessage = {
            type: 'entry_options',
            ...(options.failureRate !== undefined ? { failure_rate: options.failureRate } : {}),
            ...(options.latencyMs !== undefined ? { latency_ms: options.latencyMs } : {}),
            ...(options.firstAttemptFails !== undefined ? { first_attempt_fails: options.firstAttemptFails } : {}),
          };
          socket.write(encodeLine(entryOptions));
        }
        resolve(socket);
      });
      socket.on('error', () => {}); // 'close' follows and does the work
      socket.once('close', () => {
        clearTimeout(timer);
        connecting = undefined;
        reject(new OrderPlacementError());
        failAll();
      });
      onLines(socket, (event) => {
        if (event.kind !== 'line') return;
        const parsed = parseLine(event.text, venueMessage);
        if (!parsed.ok) return; // nothing to correlate it with: its request times out
        const message: VenueMessage = parsed.value;
        if (
          message.type !== 'new_order_result' &&
          message.type !== 'cancel_order_result' &&
          message.type !== 'replace_order_result' &&
          message.type !== 'error'
        )
          return;
        if (message.req_id === undefined) return;
        const request = pending.get(message.req_id);
        if (!request) return; // answered after its timeout: the caller has moved on
        pending.delete(message.req_id);
        clearTimeout(request.timer);
        request.resolve(message);
      });
    }));

  const request = async (build: (reqId: string) => ClientMessage): Promise<Answer> => {
    if (closed) throw new OrderPlacementError();
    const socket = await connect();
    if (socket.destroyed) throw new OrderPlacementError();
    const reqId = `${prefix}-${(counter++).toString(36)}`;
    return new Promise<Answer>((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(reqId);
        reject(new OrderPlacementError());
      }, options.requestTimeoutMs);
      pending.set(reqId, { resolve, reject, timer });
      socket.write(encodeLine(build(reqId)));
    });
  };

  const venueError = (answer: ErrorMessage): Error => {
    if (answer.error === 'OrderPlacementError') return new OrderPlacementError();
    if (answer.error === 'MissingOrderError') return new MissingOrderError();
    return new VenueBadRequestError(`the venue refused the request: ${answer.message}`);
  };

  return {
    async placeOrder(ticket) {
      // The seed's place_order fails at once, before any work, without an order.
      if (!ticket) throw new MissingOrderError();
      const answer = await request((reqId) => ({ type: 'new_order', req_id: reqId, order: toVenueOrder(ticket) }));
      if (answer.type === 'error') throw venueError(answer);
      if (answer.type !== 'new_order_result') throw new OrderPlacementError();
      if (answer.result === 'duplicate') throw new DuplicateOrderError(ticket.id, answer.expires_at);
      if (answer.result === 'refused') throw new OrderCancelledAtExchangeError(ticket.id);
      accepts += 1;
      if (accepts === options.crashAfterAccepts) process.kill(process.pid, 'SIGKILL');
      return { expiresAt: answer.expires_at };
    },
    async cancelOrder(orderId, reason) {
      const answer = await request((reqId) => ({ type: 'cancel_order', req_id: reqId, order_id: orderId, reason }));
      if (answer.type === 'error') throw venueError(answer);
      if (answer.type !== 'cancel_order_result') throw new OrderPlacementError();
      return { outcome: answer.outcome, cumQty: answer.cum_qty };
    },
    async replaceOrder(orderId, changes) {
      const answer = await request((reqId) => ({
        type: 'replace_order',
        req_id: reqId,
        order_id: orderId,
        ...(changes.quantity !== undefined && { quantity: changes.quantity }),
        ...(changes.limitPrice !== undefined && { limit_price: changes.limitPrice }),
        ...(changes.stopPrice !== undefined && { stop_price: changes.stopPrice }),
        ...(changes.timeInForce !== undefined && { time_in_force: changes.timeInForce }),
      }));
      if (answer.type === 'error') throw venueError(answer);
      if (answer.type !== 'replace_order_result') throw new OrderPlacementError();
      return {
        outcome: answer.outcome,
        reason: answer.reason,
        status: answer.order_status,
        cumQty: answer.cum_qty,
        quantity: answer.quantity,
        limitPrice: answer.limit_price,
        stopPrice: answer.stop_price ?? null,
        timeInForce: answer.time_in_force,
        expiresAt: answer.expires_at,
      };
    },
    close() {
      closed = true;
      void connecting?.then(
        (socket) => socket.destroy(),
        () => {},
      );
      failAll();
    },
  };
}
