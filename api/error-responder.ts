import type { Context, Next } from 'koa';
import type { Logger } from '../config/logger.js';
import { DuplicateClientOrderIdError } from '../prisma/orders-repository.js';
import { CANCEL_INTERNAL_ERROR_BODY, ClientError, ClientOrderIdTakenError, INTERNAL_ERROR_BODY } from './errors.js';
import { internalErrorCause } from './internal-error-cause.js';
import type { InternalErrorCause } from './metrics.js';

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

function httpErrorStatus(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'expose' in error && (error as { expose: unknown }).expose === true) {
    const status = (error as { status?: unknown }).status;
    return typeof status === 'number' ? status : undefined;
  }
  return undefined;
}
