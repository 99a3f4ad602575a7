// The exchange's errors, free of Node imports: the workflow's retry policy names them too.

/** Each error's name: the failure type Temporal records for it, and the label of the worker's failure counter. */
export const EXCHANGE_ERRORS = {
  OrderPlacementError: 'OrderPlacementError',
  MissingOrderError: 'MissingOrderError',
  DuplicateOrderError: 'DuplicateOrderError',
  OrderCancelledAtExchangeError: 'OrderCancelledAtExchangeError',
} as const;

/**
 * The errors no retry can fix, the one list of them: the exchange activities turn them into
 * non-retryable failures, and the exchange's retry policy stops on them by name (for a call
 * whose error reached Temporal as is).
 */
export const NON_RETRYABLE_EXCHANGE_ERRORS: readonly string[] = [
  EXCHANGE_ERRORS.MissingOrderError,
  EXCHANGE_ERRORS.OrderCancelledAtExchangeError,
];

/** The errors a call to place an order can end with (a duplicate is taken as placed). */
export const PLACEMENT_FAILURES: readonly string[] = [EXCHANGE_ERRORS.OrderPlacementError, ...NON_RETRYABLE_EXCHANGE_ERRORS];

/** The exchange could not be reached; trying again later may succeed. */
export class OrderPlacementError extends Error {
  override readonly name = EXCHANGE_ERRORS.OrderPlacementError;
  constructor() {
    super('Failed to place order at stock exchange. Connection not available');
  }
}

/** The call itself is wrong (the seed's plain value error); no retry can fix it. */
export class MissingOrderError extends Error {
  override readonly name = EXCHANGE_ERRORS.MissingOrderError;
  constructor() {
    super('Required order parameter not provided');
  }
}

/** The exchange already accepted an order with this id (a venue refuses duplicate client ids). */
export class DuplicateOrderError extends Error {
  override readonly name = EXCHANGE_ERRORS.DuplicateOrderError;
  /** The venue's expiry of the order accepted before (null: gtc, or not known). */
  readonly expiresAt: string | null;
  constructor(orderId: string, expiresAt: string | null = null) {
    super(`Order ${orderId} was already accepted by the exchange`);
    this.expiresAt = expiresAt;
  }
}

/** The client cancelled this order id at the exchange before submitting it; it is refused. */
export class OrderCancelledAtExchangeError extends Error {
  override readonly name = EXCHANGE_ERRORS.OrderCancelledAtExchangeError;
  constructor(orderId: string) {
    super(`Order ${orderId} was cancelled at the exchange`);
  }
}
