// The worker's workflow bundle: every workflow the worker runs, and nothing with side effects.
export { placeOrderWorkflow } from './order-workflow.js';
export { staleOrderSweeperWorkflow, sweepStaleOrdersWorkflow } from './sweep-workflow.js';
