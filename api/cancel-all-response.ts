import type { CancelAllResult } from './cancel-all.js';

/**
 * DELETE /orders' answer: 200 once every order asked was decided, 202 while some are `pending`;
 * the same body either way, every list present.
 */
export function cancelAllAnswer(result: CancelAllResult): { status: 200 | 202; body: string } {
  const body = {
    cancelled: result.cancelled,
    not_cancelled: result.notCancelled.map(({ id, reason }) => ({ id, reason })),
    pending: result.pending,
    has_more: result.hasMore,
  };
  return { status: result.pending.length > 0 ? 202 : 200, body: JSON.stringify(body) };
}
