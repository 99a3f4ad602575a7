// GET /events fan-out: many SSE clients on one API process, spread over many accounts as the
// service is used (each client sees only its own account's events), with skewed shares: account k
// of ACCOUNTS has 1/(k+1) of the flow and of the clients (a few large accounts, many small). A
// steady flow of fills is written straight into order_stream (batched inserts, as the ingestion
// writes them: a narrow state, NARROW_STATE). Measures the delivery lag from the commit of an
// event's insert (as the bench saw it acknowledged) to its arrival at a client, and from the
// event's `at` (its insert's start, so a stalled insert is in it), and whether every client got
// every event of its account, in order.
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateApiKey } from '../api/api-key-secrets.js';
import { type LatencySummary, newHistogram, recordMs, summarise } from './histogram.js';
import { treeCpuSeconds } from './proc.js';
import type { Bench } from './scenarios.js';
import { startApi } from './services.js';

export interface SseResult {
  clients: number;
  /** The accounts the clients and the flow are spread over. */
  accounts: number;
  rate: number;
  durationS: number;
  /** Events written during the flow. */
  produced: number;
  /** Events received, per client: the fewest, and in total; and what the clients' accounts had, in total. */
  receivedMin: number;
  receivedTotal: number;
  expectedTotal: number;
  /** Clients that received every event of their account's in the flow. */
  complete: number;
  /** Clients whose event ids did not increase (sampled clients only check). */
  outOfOrder: number;
  /** Sampled clients' lag from the insert's commit acknowledged, every event. */
  lag: LatencySummary;
  /** The same from the event's `at` (its insert statement's start). */
  lagFromAt: LatencySummary;
  sampled: number;
  /** The slowest batched insert of the flow: its wait is in the lag too (an event's `at` is its statement's start). */
  slowestInsertMs: number;
  cores: { api: number; postgres: number; bench: number };
}

// better-sse writes its fields without a space after the colon.
/** A fill row's state as the ingestion writes it (ingest/batch-plan.ts stateOf): the fields a fill can change, of the orders row `o`. */
const NARROW_STATE = `jsonb_build_object('status', o."status", 'filled_quantity', o."filled_quantity",
  'filled_notional', o."filled_notional"::text, 'placed_at', o."placed_at", 'filled_at', o."filled_at",
  'cancelled_at', o."cancelled_at", 'expired_at', o."expired_at", 'rejected_at', o."rejected_at",
  'rejected_reason', o."rejected_reason", 'expires_at', o."expires_at")`;

const EVENT = Buffer.from('\nevent:');
const DATA = Buffer.from('\ndata:');
const AT = Buffer.from(',"at":"');
const EXEC = Buffer.from('"exec_id":"SSE-');
const ID = Buffer.from('\nid:');
const FRAME_END = Buffer.from('\n\n');
/** One client in this many records the lag of each of its events (parsing every event of all of them would cost the bench more than the API). */
const SAMPLE_EVERY = 20;
/** The accounts, one order each; account k's share of the flow and of the clients is ⌈ACCOUNTS / (k + 1)⌉ parts. */
const ACCOUNTS = 100;
const SHARES = Array.from({ length: ACCOUNTS }, (_, k) => Array.from({ length: Math.ceil(ACCOUNTS / (k + 1)) }, () => k)).flat();

function count(buffer: Buffer, pattern: Buffer): number {
  let n = 0;
  for (let i = buffer.indexOf(pattern); i !== -1; i = buffer.indexOf(pattern, i + pattern.length)) n++;
  return n;
}

interface Client {
  account: number;
  received: number;
  request: http.ClientRequest;
  onChunk(chunk: Buffer): void;
  outOfOrder: boolean;
}

/** What sampled clients saw: each event's exec number and when it arrived. */
interface Arrivals {
  exec: number[];
  at: number[];
}

function openClient(
  url: string,
  account: { index: number; apiKey: string },
  sampled: boolean,
  histogram: ReturnType<typeof newHistogram>,
  arrivals: Arrivals,
): Promise<Client> {
  return new Promise((resolve, reject) => {
    let tail: Buffer = Buffer.alloc(0);
    let pending: Buffer = Buffer.alloc(0);
    let lastId = -1n;
    const client: Client = {
      account: account.index,
      received: 0,
      outOfOrder: false,
      request: http.get(
        `${url}/events`,
        { agent: false, headers: { accept: 'text/event-stream', authorization: `Bearer ${account.apiKey}` } },
        (response) => {
          if (response.statusCode !== 200) {
            reject(new Error(`GET /events answered ${response.statusCode}`));
            response.resume();
            return;
          }
          response.on('data', (chunk: Buffer) => client.onChunk(chunk));
          response.on('error', () => {});
          resolve(client);
        },
      ),
      onChunk(chunk) {
        // A pattern split across two chunks: counted from the joint.
        if (tail.length > 0) client.received += count(Buffer.concat([tail, chunk.subarray(0, EVENT.length - 1)]), EVENT);
        client.received += count(chunk, EVENT);
        tail = Buffer.from(chunk.subarray(Math.max(0, chunk.length - (EVENT.length - 1))));
        if (!sampled) return;
        const now = Date.now();
        pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
        const end = pending.lastIndexOf(FRAME_END);
        if (end === -1) return;
        for (let i = pending.indexOf(ID); i !== -1 && i < end; i = pending.indexOf(ID, i + ID.length)) {
          const idEnd = pending.indexOf(10, i + ID.length);
          const id = BigInt(pending.toString('latin1', i + ID.length, idEnd));
          if (id <= lastId) client.outOfOrder = true;
          lastId = id;
          const data = pending.indexOf(DATA, idEnd - 1);
          const at = pending.indexOf(AT, data);
          if (data !== -1 && at !== -1 && at < end) {
            const time = Date.parse(pending.toString('latin1', at + AT.length, at + AT.length + 24));
            if (Number.isFinite(time)) recordMs(histogram, Math.max(0, now - time));
          }
          const exec = pending.indexOf(EXEC, data);
          if (data !== -1 && exec !== -1 && exec < end) {
            const digitsEnd = pending.indexOf(34, exec + EXEC.length);
            arrivals.exec.push(Number(pending.toString('latin1', exec + EXEC.length, digitsEnd)));
            arrivals.at.push(now);
          }
        }
        pending = Buffer.from(pending.subarray(end + FRAME_END.length));
      },
    };
    client.request.on('error', reject);
  });
}

export async function sseFanOut(bench: Bench): Promise<SseResult> {
  const clientsWanted = 1000;
  const rate = 2000;
  const durationS = bench.profile.name === 'short' ? 10 : 60;
  const api = await startApi('api-sse', {
    DATABASE_URL: bench.infra.databaseUrl,
    TEMPORAL_ADDRESS: bench.infra.temporalAddress,
    LOG_LEVEL: 'warn',
    // The bench's clients carry their account's key.
    AUTH_REQUIRED: 'true',
    // The largest account opens 175 of the 1,000 streams at once: the per-account limit would refuse all but its burst.
    RATE_LIMIT_PER_MINUTE: '100000000',
    SSE_MAX_CLIENTS: String(clientsWanted + 100),
    // The bench's clients are measured, not cut: a backlog shows as lag.
    SSE_CLIENT_BUFFER_BYTES: String(512 * 1024 * 1024),
  });
  const histogram = newHistogram();
  const fromCommit = newHistogram();
  const arrivals: Arrivals = { exec: [], at: [] };
  /** Per batch: its first exec number and when its insert's commit was acknowledged. */
  const commits: { first: number; at: number }[] = [];
  const clients: Client[] = [];
  try {
    // The accounts (each with a key and one working order), in share order.
    const prefix = `bench-sse-${Date.now()}-`;
    const { rows: created } = await bench.pool.query<{ id: string; name: string }>(
      `INSERT INTO "accounts" ("name") SELECT $1 || k FROM generate_series(0, $2::int - 1) k RETURNING "id", "name"`,
      [prefix, ACCOUNTS],
    );
    const accountIds: string[] = [];
    for (const row of created) accountIds[Number(row.name.slice(prefix.length))] = row.id;
    const keys = accountIds.map(() => generateApiKey());
    await bench.pool.query(
      `INSERT INTO "api_keys" ("key_id", "account_id", "secret_hash") SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[])`,
      [keys.map((key) => key.keyId), accountIds, keys.map((key) => key.secretHash)],
    );
    const { rows: orders } = await bench.pool.query<{ id: string; account_id: string }>(
      `INSERT INTO "orders" ("type", "side", "instrument", "quantity", "status", "placed_at", "account_id")
       SELECT 'market', 'buy', 'BSSE00000000', 1000000, 'placed', now(), a FROM unnest($1::uuid[]) a RETURNING "id", "account_id"`,
      [accountIds],
    );
    const orderOf = new Map(orders.map((order) => [order.account_id, order.id]));
    // The flow's orders, each as often as its account's share.
    const flowOrders = SHARES.map((k) => orderOf.get(accountIds[k]!)!);
    await sleep(500); // their status events reach the API's ring before the clients come
    bench.log(`SSE: connecting ${clientsWanted} clients over ${ACCOUNTS} accounts`);
    for (let i = 0; i < clientsWanted; i += 100) {
      const batch = Array.from({ length: Math.min(100, clientsWanted - i) }, (_, k) => {
        const account = SHARES[(i + k) % SHARES.length]!;
        return openClient(api.url, { index: account, apiKey: keys[account]!.apiKey }, (i + k) % SAMPLE_EVERY === 0, histogram, arrivals);
      });
      clients.push(...(await Promise.all(batch)));
    }
    // Their own orders' status events came before they connected; from here on only the flow.
    for (const client of clients) client.received = 0;

    bench.log(`SSE: ${rate} events/s for ${durationS} s to ${clients.length} clients`);
    const cpuBefore = { api: treeCpuSeconds(api.pid), postgres: treeCpuSeconds(bench.infra.postgresPid), bench: process.cpuUsage() };
    const started = performance.now();
    let produced = 0;
    let exec = 0;
    let slowestInsertMs = 0;
    for (;;) {
      const elapsedS = (performance.now() - started) / 1000;
      if (elapsedS >= durationS) break;
      const due = Math.min(Math.floor(elapsedS * rate) - produced, 2000);
      if (due > 0) {
        const insertStarted = performance.now();
        await bench.pool.query(
          `INSERT INTO "order_stream" ("order_id", "account_id", "kind", "state", "execution")
           SELECT o."id", o."account_id", 'fill', ${NARROW_STATE}, jsonb_build_object(
             'exec_id', 'SSE-' || ($3::int + g), 'exec_type', 'partial_fill', 'order_id', o."id", 'last_qty', 1, 'last_px', '187.2500',
             'cum_qty', 1, 'leaves_qty', 999999, 'transact_time', to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
           FROM generate_series(0, $1::int - 1) g
           JOIN "orders" o ON o."id" = ($2::uuid[])[1 + (($3::int + g) % cardinality($2::uuid[]))]`,
          [due, flowOrders, exec],
        );
        commits.push({ first: exec, at: Date.now() });
        produced += due;
        slowestInsertMs = Math.max(slowestInsertMs, performance.now() - insertStarted);
        exec += due;
      }
      await sleep(10);
    }
    const flowS = (performance.now() - started) / 1000;
    bench.log(`SSE: ${produced} events written in ${flowS.toFixed(1)} s; slowest insert ${slowestInsertMs.toFixed(0)} ms`);
    // Transactions still open hold the stream back (it serves only those below the snapshot's xmin).
    const { rows: holders } = await bench.pool.query<{ pid: number; age: string; query: string }>(
      `SELECT pid, (now() - xact_start)::text AS age, left(query, 120) AS query FROM pg_stat_activity
       WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid() AND xact_start < now() - interval '1 second'`,
    );
    for (const holder of holders) bench.log(`SSE: transaction open for ${holder.age} (pid ${holder.pid}): ${holder.query}`);
    // What each account had of the flow: exec e went to the order of account SHARES[e % SHARES.length].
    const ofAccount = new Array<number>(ACCOUNTS).fill(0);
    for (let e = 0; e < produced; e++) ofAccount[SHARES[e % SHARES.length]!]! += 1;
    const expectedOf = (client: Client) => ofAccount[client.account]!;
    // The tail of the flow: every client gets its last events, or the bench says how many it missed.
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && clients.some((client) => client.received < expectedOf(client))) await sleep(100);
    const measuredS = (performance.now() - started) / 1000;
    const benchUsage = process.cpuUsage(cpuBefore.bench);
    const cores = {
      api: (treeCpuSeconds(api.pid) - cpuBefore.api) / measuredS,
      postgres: (treeCpuSeconds(bench.infra.postgresPid) - cpuBefore.postgres) / measuredS,
      bench: (benchUsage.user + benchUsage.system) / 1e6 / measuredS,
    };
    for (let i = 0; i < arrivals.exec.length; i++) {
      const exec = arrivals.exec[i]!;
      // The batch holding it: the last whose first exec is at or below it.
      let low = 0;
      let high = commits.length - 1;
      while (low < high) {
        const middle = (low + high + 1) >> 1;
        if (commits[middle]!.first <= exec) low = middle;
        else high = middle - 1;
      }
      const commit = commits[low];
      if (commit && commit.first <= exec) recordMs(fromCommit, Math.max(0, arrivals.at[i]! - commit.at));
    }
    const received = clients.map((client) => client.received);
    const complete = clients.filter((client) => client.received >= expectedOf(client)).length;
    if (complete < clients.length) bench.log(`SSE: clients missed events; the API's log ends:\n${api.output().slice(-3000)}`);
    return {
      clients: clients.length,
      accounts: ACCOUNTS,
      rate,
      durationS: flowS,
      produced,
      receivedMin: Math.min(...received),
      receivedTotal: received.reduce((sum, n) => sum + n, 0),
      expectedTotal: clients.reduce((sum, client) => sum + expectedOf(client), 0),
      complete,
      outOfOrder: clients.filter((client) => client.outOfOrder).length,
      lag: summarise(fromCommit),
      lagFromAt: summarise(histogram),
      sampled: Math.ceil(clients.length / SAMPLE_EVERY),
      slowestInsertMs,
      cores,
    };
  } finally {
    for (const client of clients) client.request.destroy();
    histogram.destroy();
    fromCommit.destroy();
    await api.stop();
  }
}
