import type { Context, Middleware } from 'koa';
import { LosslessNumber, stringify } from 'lossless-json';
import { LIST_LIMIT } from '../domain/limits.js';
import type { Execution, ExecutionsQuery } from '../prisma/executions-query.js';
import { RequestValidationError, type ValidationDetail } from './errors.js';
import type { ExecutionCursorCodec } from './execution-cursor.js';

export interface ExecutionsRouteDeps {
  executions: Pick<ExecutionsQuery, 'page'>;
  executionCursors: ExecutionCursorCodec;
  /** The order, if it exists (and, with accounts, is the caller's): 404 otherwise, before anything is read. */
  findOrder(ctx: Context, rawId: string | undefined): Promise<{ id: string }>;
}

const PARAMETERS = ['limit', 'cursor'];

/**
 * GET /orders/{id}/executions: the order's executions in the order the venue sent them (oldest
 * first), `{"data": [<execution>, …], "next": "<cursor>" | null}`, keyset pages.
 */
export function executionsRoute(deps: ExecutionsRouteDeps): Middleware {
  return async (ctx) => {
    const order = await deps.findOrder(ctx, (ctx.params as Record<string, string> | undefined)?.id);
    const { limit, after } = parseQuery(ctx.query, (cursor) => deps.executionCursors.decode(order.id, cursor));
    const page = await deps.executions.page(order.id, limit, after);
    const last = page.executions.at(-1);
    const next = page.more && last ? deps.executionCursors.encode(order.id, last.position) : null;
    ctx.status = 200;
    ctx.type = 'application/json';
    ctx.body = stringify({ data: page.executions.map(executionBody), next }) as string;
  };
}

function parseQuery(query: Record<string, string | string[] | undefined>, decode: (cursor: string) => bigint | undefined) {
  const details: ValidationDetail[] = [];
  for (const name of Object.keys(query)) {
    if (!PARAMETERS.includes(name)) details.push({ loc: ['query', name], msg: 'Extra inputs are not permitted', type: 'extra_forbidden' });
  }
  let limit: number = LIST_LIMIT.default;
  const rawLimit = query.limit;
  if (rawLimit !== undefined) {
    if (typeof rawLimit !== 'string' || !/^\d{1,6}$/.test(rawLimit)) {
      details.push({ loc: ['query', 'limit'], msg: 'Input should be a valid integer', type: 'int_parsing' });
    } else if (Number(rawLimit) < LIST_LIMIT.min || Number(rawLimit) > LIST_LIMIT.max) {
      details.push({
        loc: ['query', 'limit'],
        msg: `Input should be from ${LIST_LIMIT.min} to ${LIST_LIMIT.max}`,
        type: 'less_than_equal',
      });
    } else {
      limit = Number(rawLimit);
    }
  }
  let after: bigint | undefined;
  const cursor = query.cursor;
  if (cursor !== undefined) {
    after = typeof cursor === 'string' ? decode(cursor) : undefined;
    if (after === undefined) {
      details.push({
        loc: ['query', 'cursor'],
        msg: 'Invalid cursor: pass the `next` value of a previous page unchanged',
        type: 'value_error',
      });
    }
  }
  if (details.length > 0) throw new RequestValidationError(details);
  return { limit, after };
}

/** An execution as clients see it; prices are JSON numbers whose text is the exact decimal. */
function executionBody(execution: Execution) {
  return {
    exec_id: execution.execId,
    venue: execution.venue,
    seq: Number(execution.seq),
    exec_type: execution.execType,
    order_status: execution.orderStatus,
    quantity: execution.quantity,
    price: execution.price === null ? null : new LosslessNumber(execution.price),
    cum_quantity: execution.cumQuantity,
    leaves_quantity: execution.leavesQuantity,
    average_price: execution.averagePrice === null ? null : new LosslessNumber(execution.averagePrice),
    ref_exec_id: execution.refExecId,
    text: execution.text,
    venue_time: execution.venueTime.toISOString(),
    received_at: execution.receivedAt.toISOString(),
  };
}
