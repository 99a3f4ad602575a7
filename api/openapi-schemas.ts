import {
  amendConflict,
  cancelConflict,
  cancelInternalError,
  clientOrderIdTaken,
  internalError,
  message,
  validationError,
} from './openapi-error-schemas.js';
import { liveness, readiness } from './openapi-health-schemas.js';
import { cancelAllResult, execution, executionList, order, orderEvent, orderList, orderStatus } from './openapi-order-schemas.js';
import { position, positionList } from './openapi-position-schemas.js';
import { orderStreamEvent, streamExecution } from './openapi-stream-schemas.js';

// The response bodies' zod schemas, each a component of the document (api/openapi.ts). Closed
// objects (strictObject) so that zod-openapi renders each the same wherever it meets it (a query
// parameter takes OrderStatus too), as one component. The request body's is
// api/openapi-order-request.ts, derived from the validator.

/** The response components, by name (the order of the document's `components.schemas`). */
export const responseSchemas = {
  Order: order,
  OrderEvent: orderEvent,
  OrderStatus: orderStatus,
  OrderList: orderList,
  Execution: execution,
  ExecutionList: executionList,
  Position: position,
  PositionList: positionList,
  Message: message,
  ValidationError: validationError,
  InternalError: internalError,
  CancelInternalError: cancelInternalError,
  CancelConflict: cancelConflict,
  CancelAllResult: cancelAllResult,
  AmendConflict: amendConflict,
  ClientOrderIdTaken: clientOrderIdTaken,
  OrderStreamEvent: orderStreamEvent,
  StreamExecution: streamExecution,
  Liveness: liveness,
  Readiness: readiness,
};
