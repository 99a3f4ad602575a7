import http from 'node:http';
import { z } from 'zod';
import { isPrice } from '../../domain/decimal.js';
import type { Book, BookError } from './book.js';
import type { VenueListener } from './connections.js';
import { type Faults, faultsRequest } from './faults.js';
import { loadRequest, startLoad } from './load.js';
import { orderView } from './order-view.js';
import { isWorking } from './orders.js';
import type { ReportLog } from './report-log.js';
import type { Simulation } from './simulation.js';

export interface ControlDeps {
  book: Book;
  log: ReportLog;
  faults: Faults;
  listener: VenueListener;
  simulation: Simulation;
}

const fillRequest = z
  .object({
    order_id: z.uuid(),
    qty: z.number().int().min(1),
    px: z.string().refine(isPrice, 'must be a decimal with at most 4 decimals').optional(),
  })
  .strict();
const priceRequest = z
  .object({
    instrument: z.string().min(1).max(12),
    price: z
      .string()
      .refine(isPrice, 'must be a decimal with at most 4 decimals')
      .refine((px) => /[1-9]/.test(px), 'must be greater than 0'),
    /** How much of an `ioc` or `fok` order can fill at once at this price; null: all of it; absent: as it was. */
    available_quantity: z.number().int().min(0).nullable().optional(),
  })
  .strict();
const bustRequest = z.object({ exec_id: z.string().min(1).max(64) }).strict();
const endRequest = z.object({ order_id: z.uuid() }).strict();
const MAX_BODY_BYTES = 8 * 1024 * 1024;

const BOOK_ERRORS: Record<BookError, [number, string]> = {
  unknown_order: [404, 'the venue does not know this order'],
  unknown_exec: [404, 'the venue does not know this execution'],
  not_working: [409, 'the order is not working (it is filled, cancelled, expired or rejected)'],
  too_much: [409, 'qty must be between 1 and the order\u2019s leaves quantity'],
  not_a_fill: [409, 'this execution is not a fill that stands (already busted)'],
};

/**
 * The venue's control port (HTTP JSON, for tests and demos; docs/executions.md): fault
 * switches, scripted fills, instruments' prices, busts, cancels and expiries, the load mode, and the venue's view of
 * an order and of itself. Every body is checked by a zod schema; a bad one is a 400 naming it.
 */
export function createControlServer(deps: ControlDeps): http.Server {
  const { book, log, faults, listener, simulation } = deps;
  // Loads still streaming: a test compares the service with the venue only once none is.
  let loadsRunning = 0;

  const routes: Record<string, (body: unknown) => [number, unknown] | Promise<[number, unknown]>> = {
    'POST /control/faults': (body) => {
      const request = faultsRequest.parse(body);
      faults.set(request, log.nextSeq);
      if (request.skip) for (const session of listener.sessions) session.skip += request.skip;
      if (request.drop_connections) for (const session of listener.sessions) session.close();
      if (request.drop_order_entry) for (const socket of listener.entryConnections) socket.destroy();
      return [200, faults.view()];
    },
    'POST /control/fill': (body) => {
      const request = fillRequest.parse(body);
      const order = book.get(request.order_id);
      const px = request.px ?? (order && isWorking(order) ? simulation.priceOf(order.record.order.instrument) : '1');
      return answer(book.fill(request.order_id, request.qty, px));
    },
    'POST /control/price': (body) => {
      const request = priceRequest.parse(body);
      return [200, simulation.setPrice(request.instrument, request.price, request.available_quantity)];
    },
    'POST /control/bust': async (body) => answer(await book.bust(bustRequest.parse(body).exec_id, 'trade bust by the control port')),
    'POST /control/cancel': (body) => answer(book.end(endRequest.parse(body).order_id, 'cancelled', 'cancelled by the venue')),
    'POST /control/expire': (body) => answer(book.end(endRequest.parse(body).order_id, 'expired', 'expired by the venue')),
    'POST /control/load': (body) => {
      const request = loadRequest.parse(body);
      loadsRunning += 1;
      void startLoad(book, request, simulation.priceOf).done.finally(() => {
        loadsRunning -= 1;
      });
      return [202, { orders: request.order_ids.length, reports: Math.round(request.reports_per_second * request.duration_s) }];
    },
    'GET /control/stats': () => [
      200,
      {
        next_seq: log.nextSeq,
        durable_seq: log.durableSeq,
        orders: book.size,
        loads_running: loadsRunning,
        reports_made: Object.fromEntries(book.made),
        reports_sent: listener.stats.reportsSent,
        reports_resent: listener.stats.resent,
        heartbeats: listener.stats.heartbeats,
        bad_requests: listener.stats.badRequests,
        sessions: [...listener.sessions].filter((session) => !session.isClosed).map((session) => session.name),
        order_entry_connections: listener.entryConnections.size,
        faults: faults.view(),
        // What the venue holds in memory: per order a fixed state (no reports), the last report lines, a sparse log index.
        memory: { ...book.memory(), ...log.memory() },
      },
    ],
  };

  return http.createServer((request, response) => {
    const reply = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    request.on('end', async () => {
      try {
        if (size > MAX_BODY_BYTES) return reply(413, { error: `body larger than ${MAX_BODY_BYTES} bytes` });
        const url = new URL(request.url ?? '/', 'http://venue');
        const orderMatch = /^\/control\/orders\/([^/]+)$/.exec(url.pathname);
        if (request.method === 'GET' && orderMatch) {
          const view = await orderView(book, log, decodeURIComponent(orderMatch[1]!));
          if (!view) return reply(404, { error: 'the venue does not know this order' });
          return reply(200, view);
        }
        const route = routes[`${request.method} ${url.pathname}`];
        if (!route) return reply(404, { error: `no route ${request.method} ${url.pathname}` });
        let body: unknown = {};
        const text = Buffer.concat(chunks).toString('utf8');
        if (text.trim() !== '') {
          try {
            body = JSON.parse(text);
          } catch {
            return reply(400, { error: 'the body is not JSON' });
          }
        }
        const [status, result] = await route(body);
        reply(status, result);
      } catch (error) {
        if (error instanceof z.ZodError) {
          return reply(400, { error: error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; ') });
        }
        reply(500, { error: error instanceof Error ? error.message : String(error) });
      }
    });
  });
}

function answer(result: ReturnType<Book['fill']>): [number, unknown] {
  if (typeof result === 'string') {
    const [status, message] = BOOK_ERRORS[result];
    return [status, { error: message, reason: result }];
  }
  return [200, result];
}
