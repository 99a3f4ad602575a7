import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';

/**
 * Slow HTTP clients on real TCP sockets: one that sends nothing, one that never finishes its headers, one whose chunked
 * body stalls after its first chunk, one that trickles a byte at a time. Each reports when the
 * server answered and when it closed the connection. Used by test/system/slow-clients.test.ts, and
 * runnable by hand against any API to open many at once:
 *
 *   node --import tsx test/support/slow-client.ts http://127.0.0.1:3000 15000
 *
 * opens 15,000 stalled connections (half stalled headers, half a stalled body), asks
 * GET /health/live once a second meanwhile, and prints how long the server held them.
 */

export type SlowKind = 'silent' | 'headers' | 'body' | 'trickle';

export interface SlowClient {
  kind: SlowKind;
  /** When the connection was established (performance.now()): when the server's clocks start too. */
  openedAt: number;
  /** Whether the server has closed (or reset) the connection. */
  closed(): boolean;
  /** Resolves once the server closed the connection: what it sent, and when. */
  done: Promise<{ response: string; closedAt: number; heldMs: number }>;
  /** Closes the connection from this side (cleanup). */
  destroy(): void;
}

// Request lines that stop before the blank line ending the headers, or before the end of the body.
const PARTIAL: Record<SlowKind, string> = {
  silent: '',
  headers: 'GET /orders HTTP/1.1\r\nHost: slow-client\r\nX-Slow: ',
  body: 'POST /orders HTTP/1.1\r\nHost: slow-client\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{"\r\n',
  trickle: 'POST /orders HTTP/1.1\r\nHost: slow-client\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n',
};
// A chunk of one space (JSON whitespace), sent again and again: the body never stalls, never ends.
const TRICKLE_CHUNK = '1\r\n \r\n';

/**
 * Opens one slow client against `url` (http://host:port). `trickleEveryMs`: how often the
 * trickling client sends its next chunk (it never stops before the server closes).
 */
export function openSlowClient(url: string, kind: SlowKind, trickleEveryMs = 500): Promise<SlowClient> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    let openedAt = performance.now();
    const socket = net.connect({ host: hostname, port: Number(port) });
    let response = '';
    let closed = false;
    let trickle: NodeJS.Timeout | undefined;
    socket.setEncoding('latin1');
    socket.on('data', (data: string) => (response += data));
    const done = new Promise<{ response: string; closedAt: number; heldMs: number }>((resolveDone) => {
      socket.on('close', () => {
        closed = true;
        clearInterval(trickle);
        const closedAt = performance.now();
        resolveDone({ response, closedAt, heldMs: closedAt - openedAt });
      });
    });
    socket.on('error', () => {}); // a reset by the server counts as closed
    socket.once('connect', () => {
      openedAt = performance.now();
      if (PARTIAL[kind] !== '') socket.write(PARTIAL[kind]);
      if (kind === 'trickle') trickle = setInterval(() => socket.writable && socket.write(TRICKLE_CHUNK), trickleEveryMs);
      resolve({ kind, openedAt, closed: () => closed, done, destroy: () => socket.destroy() });
    });
    socket.once('error', (error) => {
      if (!closed && socket.connecting) reject(error);
    });
  });
}

/** The status of a raw HTTP response (`HTTP/1.1 408 …`), or undefined if there was none. */
export function statusOf(response: string): number | undefined {
  const match = /^HTTP\/1\.1 (\d{3}) /.exec(response);
  return match ? Number(match[1]) : undefined;
}

/** The body of a raw HTTP response, as sent (the answers checked here are not chunked). */
export function bodyOf(response: string): string {
  const end = response.indexOf('\r\n\r\n');
  return end === -1 ? '' : Buffer.from(response.slice(end + 4), 'latin1').toString('utf8');
}

/** The headers of a raw HTTP response. */
export function headersOf(response: string): Headers {
  const headers = new Headers();
  const end = response.indexOf('\r\n\r\n');
  for (const line of response
    .slice(0, end === -1 ? undefined : end)
    .split('\r\n')
    .slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return headers;
}

/** Opens `count` clients, `parallel` connection attempts at a time. */
export async function openSlowClients(url: string, kinds: SlowKind[], parallel = 200): Promise<SlowClient[]> {
  const clients: SlowClient[] = [];
  for (let start = 0; start < kinds.length; start += parallel) {
    clients.push(...(await Promise.all(kinds.slice(start, start + parallel).map((kind) => openSlowClient(url, kind)))));
  }
  return clients;
}

async function main(): Promise<void> {
  const [url = 'http://127.0.0.1:3000', countText = '1000'] = process.argv.slice(2);
  const count = Number(countText);
  const kinds = Array.from({ length: count }, (_, i): SlowKind => (i % 2 === 0 ? 'headers' : 'body'));
  console.log(`opening ${count} stalled connections to ${url} …`);
  const started = performance.now();
  const clients = await openSlowClients(url, kinds);
  const openMs = Math.round(performance.now() - started);
  console.log(`opened in ${openMs} ms; still open: ${clients.filter((client) => !client.closed()).length}`);
  const all = Promise.all(clients.map((client) => client.done));
  let finished = false;
  void all.then(() => (finished = true));
  while (!finished) {
    const started = performance.now();
    let probe: string;
    try {
      const answer = await fetch(`${url}/health/live`, { signal: AbortSignal.timeout(10_000) });
      probe = `${answer.status} in ${Math.round(performance.now() - started)} ms`;
    } catch (error) {
      probe = `failed: ${(error as Error).message}`;
    }
    console.log(`still open: ${clients.filter((client) => !client.closed()).length}; GET /health/live: ${probe}`);
    await sleep(1000);
  }
  const results = await all;
  for (const kind of ['headers', 'body'] as const) {
    const mine = results.filter((_, i) => kinds[i] === kind);
    const held = mine.map((result) => result.heldMs).sort((a, b) => a - b);
    const percentile = (p: number) => Math.round(held[Math.min(held.length - 1, Math.floor((held.length * p) / 100))] ?? 0);
    const statuses = new Map<string, number>();
    for (const result of mine) {
      const status = String(statusOf(result.response) ?? 'closed without an answer');
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
    console.log(
      `stalled ${kind}: ${mine.length} connections, held ms: min ${Math.round(held[0] ?? 0)}, median ${percentile(50)}, ` +
        `p99 ${percentile(99)}, max ${Math.round(held.at(-1) ?? 0)}; ` +
        `answers ${JSON.stringify(Object.fromEntries(statuses))}`,
    );
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
