// Where one order's time goes, from the timestamps that already exist: the order's row and its
// status events in PostgreSQL, and its workflow's history in Temporal. Pure: bench/order-time.ts
// reads the timestamps, the charts (bench/charts/) only need the stage names.
//
// All the clocks are the machine's own here (PostgreSQL's now(), the Temporal server's event
// times, the worker's Date.now() for placed_at). On several hosts they would differ by the hosts'
// clock skew, which can exceed the shorter stages.

/** The stages of a healthy order (placed in its first workflow task), in the order they happen. */
export const ORDER_STAGES = [
  { key: 'start', label: 'API: insert, workflow start', from: 'created_at', to: 'WorkflowExecutionStarted' },
  { key: 'dispatch', label: 'waiting for a worker', from: 'WorkflowExecutionStarted', to: 'first WorkflowTaskStarted' },
  { key: 'claim', label: 'claim (waits for the acceptance)', from: 'first WorkflowTaskStarted', to: "order_events 'placing'" },
  { key: 'exchange', label: 'exchange call', from: "order_events 'placing'", to: 'placed_at' },
  { key: 'record', label: 'recording placed, task completed', from: 'placed_at', to: 'first WorkflowTaskCompleted' },
] as const;

export type OrderStage = (typeof ORDER_STAGES)[number]['key'];

/** Epoch milliseconds of what happened to one order. */
export interface OrderMarks {
  /** orders.created_at: the API's insert. */
  createdMs: number;
  /** order_events 'accepted': the API recorded that the start was acknowledged (null if it did not). */
  acceptedMs: number | null;
  /** WorkflowExecutionStarted: the start persisted by Temporal (its first workflow task is scheduled with it). */
  workflowStartedMs: number;
  /** The first WorkflowTaskStarted: a worker polled the task. */
  taskStartedMs: number;
  /** order_events 'placing': the claim's UPDATE. */
  placingMs: number;
  /** orders.placed_at: the worker's clock when the exchange had answered. */
  placedMs: number;
  /** The first WorkflowTaskCompleted: the task's commands (the markers) reached the server. */
  taskCompletedMs: number;
}

/** One order of a run's sample, as the charts read it. */
export interface OrderTime {
  /** created_at, in seconds from the run's start. */
  atS: number;
  /** created_at → placed_at. */
  lagMs: number;
  /** created_at → the API recorded acceptance (null if it did not). */
  acceptedMs: number | null;
  /** Each stage's length in ms; together they run from created_at to the first task's completion. */
  stages: Record<OrderStage, number>;
}

/** An order's stages; a negative length (clocks a millisecond apart, rounding) counts as 0. */
export function orderTime(marks: OrderMarks, runStartMs: number): OrderTime {
  const span = (from: number, to: number) => Math.max(0, to - from);
  return {
    atS: (marks.createdMs - runStartMs) / 1000,
    lagMs: span(marks.createdMs, marks.placedMs),
    acceptedMs: marks.acceptedMs === null ? null : span(marks.createdMs, marks.acceptedMs),
    stages: {
      start: span(marks.createdMs, marks.workflowStartedMs),
      dispatch: span(marks.workflowStartedMs, marks.taskStartedMs),
      claim: span(marks.taskStartedMs, marks.placingMs),
      exchange: span(marks.placingMs, marks.placedMs),
      record: span(marks.placedMs, marks.taskCompletedMs),
    },
  };
}
