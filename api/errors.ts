import {
  isGrpcServiceError,
  ServiceError,
  TemporalFailure,
  WorkflowFailedError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import type { Context, Next } from 'koa';
import pg from 'pg';
import type { Logger } from '../config/logger.js';
import { DuplicateClientOrderIdError } from '../prisma/orders-repository.js';
import type { InternalErrorCause } from './metrics.js';

/** One entry of a 422 answer, in the shape FastAPI gave the seed's clients. */
export interface ValidationDetail {
  loc: (string | number)[];
  msg: string;
  type: string;
}

/** An error the client caused, answered with its own status and a message that says why. */
export class ClientError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }

  body(): unknown {
    return { message: this.message };
  }

  /** Headers the answer must carry (a 401's challenge, a 429's Retry-After). */
  headers(): Record<string, string> {
    return {};
  }
}

/** No API key, or one that is malformed, unknown or revoked (api/auth.ts): 401 with the Bearer challenge. */
export class UnauthorizedError extends ClientError {
  constructor(
    message: string,
    /** RFC 6750's error code, when the request carried a token at all. */
    readonly bearerError?: 'invalid_token' | 'invalid_request',
  ) {
    super(401, message);
  }

  override headers(): Record<string, string> {
    return { 'WWW-Authenticate': this.bearerError ? `Bearer error="${this.bearerError}"` : 'Bearer' };
  }
}

/** Over a rate limit (api/rate-limit.ts): 429, and when to try again. */
export class TooManyRequestsError extends ClientError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(429, message);
  }

  override headers(): Record<string, string> {
    return { 'Retry-After': String(this.retryAfterSeconds) };
  }
}

/** A client_order_id the account already used: 409, naming the order that has it. */
export class ClientOrderIdTakenError extends ClientError {
  constructor(
    readonly clientOrderId: string,
    readonly orderId: string,
  ) {
    super(409, `client_order_id ${JSON.stringify(clientOrderId)} is already used by order ${orderId}`);
  }

  override body(): unknown {
    return { message: this.message, order_id: this.orderId };
  }
}

export class RequestValidationError extends ClientError {
  constructor(readonly detail: ValidationDetail[]) {
    super(422, 'Request validation failed');
  }

  override body(): unknown {
    return { detail: this.detail };
  }
}

export class OrderNotFoundError extends ClientError {
  constructor(id: string) {
    super(404, `Order ${id} not found`);
  }
}

/** GET /positions/{instrument} of an instrument the account never traded. */
export class PositionNotFoundError extends ClientError {
  constructor(instrument: string) {
    super(404, `No position in ${JSON.stringify(instrument)}: this account never traded it`);
  }
}

/** DELETE of an order that has reached the exchange, or will never: 409 naming its status. */
export class OrderNotCancellableError extends ClientError {
  constructor(
    id: string,
    readonly orderStatus: string,
  ) {
    super(409, `Order ${id} cannot be cancelled: it is ${orderStatus}`);
  }

  override body(): unknown {
    return { message: this.message, status: this.orderStatus };
  }
}

/** An amend the order's workflow (or the API, for an order not working at the venue) refused. */
export class OrderNotAmendableError extends ClientError {
  constructor(
    id: string,
    readonly reason: string,
    why: string,
  ) {
    super(409, `Order ${id} cannot be amended (${reason}): ${why}`);
  }

  override body(): unknown {
    return { message: this.message, reason: this.reason };
  }
}

/** GET /events: a Last-Event-ID (the header, or `last_event_id`) that no event of the stream has. */
export class InvalidLastEventIdError extends ClientError {
  constructor(source: string) {
    super(400, `Invalid ${source}: it must be the id of an event of this stream (a decimal integer), as received`);
  }
}

/** GET /events: this process serves as many streams as it may (SSE_MAX_CLIENTS), or is shutting down. */
export class StreamUnavailableError extends ClientError {
  constructor(message: string) {
    super(503, message);
  }
}

/** The order was stored but its placement could not be guaranteed, so it was rejected. */
export class OrderNotAcceptedError extends Error {
  override readonly name = 'OrderNotAcceptedError';
}

/** DELETE /orders/:id could not record the cancel in the order's workflow (Temporal unreachable). */
export class CancelNotRecordedError extends Error {
  override readonly name = 'CancelNotRecordedError';
  constructor(orderId: string, options?: ErrorOptions) {
    super(`The cancel of order ${orderId} could not be recorded`, options);
  }
}

/** The seed's exact answer to an internal error of POST /orders (and of every read). */
export const INTERNAL_ERROR_BODY = { message: 'Internal server error while placing the order' } as const;
export const CANCEL_INTERNAL_ERROR_BODY = { message: 'Internal server error while cancelling the order' } as const;

/**
 * The one place where errors become HTTP answers. Client errors keep their status and message;
 * everything else is logged and answered with the fixed 500 body, so no internal text leaks.
 * Each 500 is classified by its cause (`onInternalError`, for the metrics); the line is written
 * with the request's logger (`ctx.state.logger`) when there is one.
 */
export function errorResponder(logger: Logger, onInternalError?: (cause: InternalErrorCause) => void) {
  return async (ctx: Context, next: Next): Promise<void> => {
    try {
      await next();
      if (ctx.body === undefined || ctx.body === null) {
        // Nothing answered: no route (404), or the router's 405/501 with its Allow header set.
        if (ctx.status === 404) throw new ClientError(404, `No route for ${ctx.method} ${ctx.path}`);
        if (ctx.status >= 400) ctx.body = { message: ctx.message };
      }
    } catch (caught) {
      const error =
        caught instanceof DuplicateClientOrderIdError ? new ClientOrderIdTakenError(caught.clientOrderId, caught.existingOrderId) : caught;
      if (error instanceof ClientError) {
        ctx.status = error.status;
        ctx.set(error.headers());
        ctx.body = error.body();
        return;
      }
      const httpStatus = httpErrorStatus(error);
      if (httpStatus !== undefined && httpStatus < 500) {
        // Koa's own client errors (the router's 405, for example): keep status and message.
        ctx.status = httpStatus;
        ctx.body = { message: (error as Error).message };
        return;
      }
      const cause = internalErrorCause(error);
      const log: Logger = (ctx.state as { logger?: Logger }).logger ?? logger;
      log.error({ err: error, cause, method: ctx.method, path: ctx.path }, 'request failed');
      onInternalError?.(cause);
      ctx.status = 500;
      ctx.body = ctx.method === 'DELETE' ? CANCEL_INTERNAL_ERROR_BODY : INTERNAL_ERROR_BODY;
    }
  };
}

/**
 * What made a request fail: the first error along its `cause` chain (outermost first) that comes
 * from PostgreSQL or from Temporal decides; anything else is 'unexpected' (a bug, or a dependency
 * failing in a way not recognised here, which is worth a look either way).
 */
export function internalErrorCause(error: unknown): InternalErrorCause {
  const seen = new Set<unknown>();
  for (let current: unknown = error; current instanceof Error && !seen.has(current); current = current.cause) {
    seen.add(current);
    if (isDatabaseError(current)) return 'database';
    if (isTemporalError(current)) return 'temporal';
  }
  return 'unexpected';
}

// Node's socket errors, as the pg driver passes them on when the server is away.
const CONNECTION_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN']);

function isDatabaseError(error: Error): boolean {
  if (error instanceof pg.DatabaseError) return true;
  // Prisma's errors (PrismaClientKnownRequestError, …InitializationError, …) and its driver adapter's.
  if (error.name.startsWith('PrismaClient') || error.name === 'DriverAdapterError') return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && CONNECTION_ERROR_CODES.has(code)) return true;
  // node-postgres' own connection failures are plain Errors.
  return /^Connection terminated|timeout exceeded when trying to connect|Query read timeout|^Client was closed/i.test(error.message);
}

function isTemporalError(error: Error): boolean {
  return (
    error instanceof ServiceError ||
    error instanceof TemporalFailure ||
    error instanceof WorkflowFailedError ||
    error instanceof WorkflowUpdateFailedError ||
    error instanceof WorkflowUpdateRPCTimeoutOrCancelledError ||
    isGrpcServiceError(error) ||
    error.name === 'TransportError' ||
    // Waited for Temporal's pace (api/placement-client.ts): Temporal is slow or away.
    error.name === 'StartNotSentError'
  );
}

function httpErrorStatus(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'expose' in error && (error as { expose: unknown }).expose === true) {
    const status = (error as { status?: unknown }).status;
    return typeof status === 'number' ? status : undefined;
  }
  return undefined;
}

/** The message of a value outside an enum, as pydantic writes it: "Input should be 'a', 'b' or 'c'". */
export function expectedOneOf(values: readonly string[]): string {
  const quoted = values.map((value) => `'${value}'`);
  return `Input should be ${quoted.length > 1 ? `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}` : quoted[0]}`;
}
