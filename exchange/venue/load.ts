import { z } from 'zod';
import type { Book } from './book.js';
import { isWorking } from './orders.js';

export const loadRequest = z
  .object({
    order_ids: z.array(z.uuid()).min(1).max(100_000),
    quantity: z.number().int().min(1).max(2_147_483_647),
    reports_per_second: z.number().min(1).max(1_000_000),
    duration_s: z.number().min(0.01).max(3_600),
    instrument: z.string().min(1).max(12).default('LOADTEST0001'),
    side: z.enum(['buy', 'sell']).default('buy'),
  })
  .strict();
export type LoadRequest = z.infer<typeof loadRequest>;

const STEP_MS = 10;

/**
 * The load mode: adopts the ids as working gtc limit orders (a `new` report each, unless the
 * venue knows the id) and streams partial fills of one share for them, round robin, at the
 * given rate until the duration is over. A fill that would complete an order is left out, so
 * every order stays open for cancels and for later runs.
 */
export function startLoad(book: Book, request: LoadRequest, priceOf: (instrument: string) => string): { done: Promise<number> } {
  for (const id of request.order_ids) {
    if (book.get(id)) continue;
    book.accept({
      order: {
        id,
        type: 'limit',
        side: request.side,
        instrument: request.instrument,
        limit_price: priceOf(request.instrument),
        quantity: request.quantity,
        time_in_force: 'gtc',
      },
      accepted_at: new Date().toISOString(),
      expires_at: null,
    });
  }
  const total = Math.round(request.reports_per_second * request.duration_s);
  const started = Date.now();
  let made = 0;
  let next = 0;
  const done = new Promise<number>((resolve) => {
    const step = () => {
      const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * request.reports_per_second));
      let idle = 0;
      while (made < due && idle < request.order_ids.length) {
        const id = request.order_ids[next]!;
        next = (next + 1) % request.order_ids.length;
        const order = book.get(id);
        if (!order || !isWorking(order) || order.record.order.quantity - order.cumQty <= 1) {
          idle += 1;
          continue;
        }
        idle = 0;
        book.fill(id, 1, order.record.order.limit_price ?? priceOf(request.instrument));
        made += 1;
      }
      if (made >= total || idle >= request.order_ids.length) resolve(made);
      else setTimeout(step, STEP_MS);
    };
    step();
  });
  return { done };
}
