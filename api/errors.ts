import type { Context, Next } from 'koa';
import type { Logger } from '../config/logger.js';

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

/** The order was stored but its placement could not be guaranteed, so it was rejected. */
export class OrderNotAcceptedError extends Error {
  override readonly name = 'OrderNotAcceptedError';
}

export const INTERNAL_ERROR_BODY = { message: 'Internal server error while placing the order' } as const;

/**
 * The one place where errors become HTTP answers. Client errors keep their status and message;
 * everything else is logged and answered with the fixed 500 body, so no internal text leaks.
 */
export function errorResponder(logger: Logger) {
  return async (ctx: Context, next: Next): Promise<void> => {
    try {
      await next();
      if (ctx.body === undefined || ctx.body === null) {
        // Nothing answered: no route (404), or the router's 405/501 with its Allow header set.
        if (ctx.status === 404) throw new ClientError(404, `No route for ${ctx.method} ${ctx.path}`);
        if (ctx.status >= 400) ctx.body = { message: ctx.message };
      }
    } catch (error) {
      if (error instanceof ClientError) {
        ctx.status = error.status;
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
      logger.error({ err: error, method: ctx.method, path: ctx.path }, 'request failed');
      ctx.status = 500;
      ctx.body = INTERNAL_ERROR_BODY;
    }
  };
}

function httpErrorStatus(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'expose' in error && (error as { expose: unknown }).expose === true) {
    const status = (error as { status?: unknown }).status;
    return typeof status === 'number' ? status : undefined;
  }
  return undefined;
}
