// Limit (a): the HTTP + validation path of POST /orders alone. A tiny Koa server built from the
// project's own pieces (errorResponder, readJsonBody, parseOrderRequest, orderJson), answering
// 201 with a fake order: the same code path as the API minus PostgreSQL and Temporal.
// Run as its own process, like the API: PORT, HOST; GET /health/live answers when it listens.
import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import Koa from 'koa';
import { errorResponder } from '../api/error-responder.js';
import { readJsonBody } from '../api/json-body.js';
import { parseOrderRequest } from '../api/order-request.js';
import { orderJson } from '../api/order-response.js';
import { createLogger } from '../config/logger.js';
import { DEMO_ACCOUNT_ID } from '../domain/accounts.js';
import { type NewOrder, NOTHING_DECIDED, type Order } from '../domain/order.js';

function fakeOrder(request: NewOrder): Order {
  return {
    ...request,
    id: randomUUID(),
    accountId: DEMO_ACCOUNT_ID,
    clientOrderId: request.clientOrderId ?? null,
    status: 'accepted',
    createdAt: new Date(),
    ...NOTHING_DECIDED,
  };
}

const app = new Koa();
app.silent = true;
const router = new Router();
router.get('/health/live', (ctx) => {
  ctx.body = { status: 'ok' };
});
router.post('/orders', async (ctx) => {
  const order = fakeOrder(parseOrderRequest(await readJsonBody(ctx)));
  ctx.status = 201;
  ctx.type = 'application/json';
  ctx.body = orderJson(order);
});
app.use(errorResponder(createLogger('http-only', process.env.LOG_LEVEL ?? 'warn')));
app.use(router.routes());
app.use(router.allowedMethods());

const server = app.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1');
process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});
