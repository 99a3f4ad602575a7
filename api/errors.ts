// The API's errors are values: each class carries its status, body and headers, and
// api/error-responder.ts is the one place they become HTTP answers.

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

/** Over a rate limit (api/account-rate-limiter.ts, api/auth-failure-limiter.ts): 429, and when to try again. */
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

/** The message of a value outside an enum, as pydantic writes it: "Input should be 'a', 'b' or 'c'". */
export function expectedOneOf(values: readonly string[]): string {
  const quoted = values.map((value) => `'${value}'`);
  return `Input should be ${quoted.length > 1 ? `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}` : quoted[0]}`;
}
