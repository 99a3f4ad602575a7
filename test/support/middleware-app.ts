import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import Koa, { type Middleware } from 'koa';
import getRawBody from 'raw-body';
import { errorResponder } from '../../api/error-responder.js';
import { createLogger } from '../../config/logger.js';

/**
 * A tiny Koa app for middleware tests: the error mapping of the API (api/error-responder.ts), the
 * middlewares under test, then GET /whoami (ctx.state as JSON) and POST /echo (reads the body).
 * `bodyReads` counts the requests whose body the route started to read.
 */
export async function startMiddlewareApp(middlewares: Middleware[]) {
  const app = new Koa();
  app.silent = true;
  const counters = { bodyReads: 0 };
  app.use(errorResponder(createLogger('test', 'silent')));
  for (const middleware of middlewares) app.use(middleware);
  app.use(async (ctx) => {
    if (ctx.method === 'POST' && ctx.path === '/echo') {
      counters.bodyReads += 1;
      const body = await getRawBody(ctx.req);
      ctx.body = { bytes: body.length };
      return;
    }
    const { accountId, keyId } = ctx.state as { accountId?: string; keyId?: string | null };
    ctx.body = { accountId, keyId };
  });
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    counters,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A POST /echo whose body never finishes (Content-Length promises more than is sent): resolves
 * with the raw answer once the server sent its headers, however long the body stays unfinished.
 */
export function postWithUnfinishedBody(
  port: number,
  headers: Record<string, string>,
  path = '/echo',
): { answer: Promise<string>; destroy(): void } {
  const socket = net.connect({ host: '127.0.0.1', port });
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  socket.write(
    `POST ${path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n${lines.join('')}\r\n{"partial":`,
  );
  const answer = new Promise<string>((resolve, reject) => {
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      if (received.includes('\r\n\r\n')) resolve(received);
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(received));
  });
  return { answer, destroy: () => socket.destroy() };
}
