// The chaos harness: steady load on the real processes (test/support/chaos-infra.ts), ONE fault
// injected mid-load, the system left to settle, and then every request matched to what became
// of its order. Each request carries an instrument of its own, so that even a request answered
// without an order id (the 500) can be found again in the orders table and in the exchange's
// ledger. The orders are market orders: the venue (scripted) fills them at once and the
// ingestion process brings them to `filled`. Used by test/system/chaos.test.ts and by `npm run chaos` (test/chaos.ts).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { INTERNAL_ERROR_BODY } from '../../api/errors.js';
import { openApiDocument } from '../../api/openapi.js';
import { AT_VENUE_STATUSES, isFinal, ORDER_STATUSES } from '../../domain/order.js';
import { ensureLedgerSchema } from '../../exchange/exchange-ledger.js';
import { type Log, prepareWorkflowBundle, type Stack, startStack } from './chaos-infra.js';
import { assertInContract, validatorAt } from './openapi-contract.js';
import type { PgStatement } from './pg-proxy.js';

export type FaultName = 'none' | 'pg-freeze' | 'temporal-freeze' | 'lost-commit-ack' | 'api-kill' | 'pg-kill' | 'temporal-kill';

interface FaultContext {
  stack: Stack;
  /** How long the fault lasts. */
  ms: number;
  log: Log;
  /** Sends `count` more orders at once (counted with the load); their instruments. */
  burst(count: number): string[];
}

interface Fault {
  /** Three letters that start the instruments of its orders. */
  code: string;
  /** How long it lasts by default: frozen, down, or losing answers (ms). */
  defaultMs: number;
  proxy: boolean;
  describe(ms: number): string;
  /** Injects the fault and resolves once it is over (the server continued or back). */
  inject(context: FaultContext): Promise<void>;
}

const EXACT_500 = JSON.stringify(INTERNAL_ERROR_BODY);
/** Far above the service's documented bound: a request that hangs shows as a large maximum latency. */
const REQUEST_TIMEOUT_MS = 60_000;
/** docs/api.md, "Bounded time": 13 s with the default settings; plus 2 s for a busy machine and the harness's own delays. */
const SLOW_ANSWER_MS = 15_000;
/** Seconds of uncounted load before the measured load. */
const WARM_UP_S = 3;
/** Orders sent at once right before PostgreSQL is frozen. */
const FREEZE_BURST = 20;
/** Share of the APIs' order writes whose answer is lost while the lost-commit-ack fault lasts. */
const LOST_ANSWER_SHARE = 0.3;
/**
 * Not at the exchange yet and not final: an order still here after the system had time to
 * settle is stuck. One the venue works (placed, partially filled) is not: it is where it should be.
 */
const OPEN_STATUSES: readonly string[] = ORDER_STATUSES.filter((status) => !isFinal(status) && !AT_VENUE_STATUSES.includes(status));
/** At the venue and not final: working there (a market order only until its fills are ingested). */
const WORKING_STATUSES: readonly string[] = AT_VENUE_STATUSES.filter((status) => !isFinal(status));
/** After settling, how long the run waits for orders at the venue to be filled (reported, not a must-be-0). */
const FILL_WAIT_MS = 30_000;

/** Which write of an order a statement of the API is, if any (as Prisma sends them: see pg-proxy.ts). */
export function orderWriteKind(statement: PgStatement): 'insert' | 'accept' | 'reject' | 'commit' | null {
  const text = statement.text;
  if (/^\s*COMMIT\b/i.test(text)) return 'commit';
  if (/^\s*INSERT\s+INTO\s+("public"\.)?"?orders"?\s/i.test(text)) return 'insert';
  if (/^\s*UPDATE\s+("public"\.)?"?orders"?\s/i.test(text)) {
    // The status is a parameter of Prisma's statement, or a literal of a raw one.
    if (statement.params.includes('accepted') || /'accepted'/.test(text)) return 'accept';
    if (statement.params.includes('rejected') || /'rejected'/.test(text)) return 'reject';
  }
  return null;
}

export const FAULTS: Record<FaultName, Fault> = {
  // The same load without a fault: what the machine gives, to read the other rows against.
  none: {
    code: 'NON',
    defaultMs: 0,
    proxy: false,
    describe: () => 'no fault (the baseline)',
    async inject() {},
  },
  'pg-freeze': {
    code: 'PGF',
    // Longer than the order budget (10 s by default) and every database timeout.
    defaultMs: 15_000,
    proxy: false,
    describe: (ms) =>
      `PostgreSQL frozen: SIGSTOP of the postmaster and all its children for ${ms / 1000} s, then SIGCONT; frozen as soon as ` +
      `half of a burst of ${FREEZE_BURST} orders is stored, while their workflow starts are in flight`,
    async inject({ stack, ms, log, burst }) {
      // The moment that matters is between an order's insert and what the API does once its start
      // is acknowledged; at a steady rate only one or two requests are there at any instant.
      const instruments = burst(FREEZE_BURST);
      const stored = await waitUntilStored(stack.databaseUrl, instruments, FREEZE_BURST / 2, 3000);
      try {
        stack.postgres.freeze();
        log(`froze with ${stored} of the burst's ${FREEZE_BURST} orders stored`);
        await sleep(ms);
      } finally {
        stack.postgres.resume();
      }
    },
  },
  'temporal-freeze': {
    code: 'TMF',
    // Longer than the order budget (10 s by default).
    defaultMs: 14_000,
    proxy: false,
    describe: (ms) => `Temporal frozen: SIGSTOP of the dev server for ${ms / 1000} s, then SIGCONT`,
    async inject({ stack, ms }) {
      try {
        stack.temporal.freeze();
        await sleep(ms);
      } finally {
        stack.temporal.resume();
      }
    },
  },
  'lost-commit-ack': {
    code: 'ACK',
    defaultMs: 8_000,
    proxy: true,
    describe: (ms) =>
      `lost COMMIT acknowledgements: for ${ms / 1000} s, ${LOST_ANSWER_SHARE * 100}% of the APIs' order writes (INSERT, ` +
      `UPDATE to accepted/rejected, COMMIT) reach PostgreSQL and complete, and their answer is lost with the connection`,
    async inject({ stack, ms, log }) {
      const proxy = stack.proxy;
      if (!proxy) throw new Error('lost-commit-ack needs the stack started with its proxy');
      const before = proxy.lost.length;
      proxy.setRule((statement) => orderWriteKind(statement) !== null && Math.random() < LOST_ANSWER_SHARE);
      try {
        await sleep(ms);
      } finally {
        proxy.setRule(undefined);
      }
      const kinds: Record<string, number> = {};
      for (const { lost } of proxy.lost.slice(before)) {
        const kind = orderWriteKind(lost) ?? 'other';
        kinds[kind] = (kinds[kind] ?? 0) + 1;
      }
      log(`proxy: lost the answers of ${proxy.lost.length - before} statements (${JSON.stringify(kinds)})`);
    },
  },
  'api-kill': {
    code: 'API',
    defaultMs: 0,
    proxy: false,
    describe: () => 'an API process SIGKILLed mid-load (its requests in flight get no answer), then started again',
    async inject({ stack }) {
      await stack.fleet.kill('api-1');
      await stack.fleet.allRunning(120_000);
    },
  },
  'pg-kill': {
    code: 'PGK',
    defaultMs: 3_000,
    proxy: false,
    describe: (ms) => `PostgreSQL killed: SIGKILL of the postmaster and all its children, restarted ${ms / 1000} s later (crash recovery)`,
    async inject({ stack, ms }) {
      await stack.postgres.kill();
      await sleep(ms);
      await stack.postgres.restart();
    },
  },
  'temporal-kill': {
    code: 'TMK',
    defaultMs: 3_000,
    proxy: false,
    describe: (ms) => `Temporal killed: SIGKILL of the dev server (state in its SQLite file), restarted ${ms / 1000} s later`,
    async inject({ stack, ms }) {
      await stack.temporal.kill();
      await sleep(ms);
      await stack.temporal.restart();
    },
  },
};

/** Polls until `count` of the instruments have an order, or `timeoutMs` passed; how many have one. */
async function waitUntilStored(databaseUrl: string, instruments: string[], count: number, timeoutMs: number): Promise<number> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM orders WHERE instrument = ANY($1)', [instruments]);
      const stored = rows[0]?.n ?? 0;
      if (stored >= count || Date.now() > deadline) return stored;
      await sleep(5);
    }
  } finally {
    await db.end(); // before the freeze: its goodbye would wait for the server
  }
}

export const FAULT_NAMES = Object.keys(FAULTS) as FaultName[];

export interface ScenarioOptions {
  fault: FaultName;
  /** How long the load runs (s). */
  seconds: number;
  /** Orders per second, spread over the APIs. */
  rate: number;
  /** When the fault starts, after the load started (s). */
  faultAtS: number;
  /** How long the fault lasts (ms); the fault's default when absent. */
  faultMs?: number;
  /** The longest the system may take to bring every order to a final status after the load (ms). */
  settleTimeoutMs: number;
  log: Log;
}

interface Outcome {
  instrument: string;
  /** When it was sent, ms after the load started. */
  sentAtMs: number;
  latencyMs: number;
  /** null: no answer (connection refused or reset, or no answer within REQUEST_TIMEOUT_MS). */
  status: number | null;
  error?: string;
  orderId?: string;
  text?: string;
  offContract?: string;
}

export interface ChaosResult {
  fault: FaultName;
  description: string;
  requests: number;
  status201: number;
  status500: number;
  /** Answers other than 201 and 500, by status ('none': no answer). */
  otherStatuses: Record<string, number>;
  /** Orders of this run in the exchange's ledger. */
  placed: number;
  /** Requests answered 500 whose order is in the exchange's ledger (must be 0). */
  placedAfter500: number;
  /** Placements beyond the first for one request (must be 0). */
  duplicates: number;
  /** Requests answered 201 whose order is not in the ledger (must be 0). */
  notPlaced201: number;
  /** Orders still pending, accepted or placing after the system had time to settle (must be 0). */
  stuck: number;
  /** Orders of this run that ended filled (market orders: every placed one, once ingested). */
  filled: number;
  /** Orders still working at the venue (placed, partially filled) once the run stopped waiting for fills. */
  working: number;
  maxLatencyMs: number;
  /** Requests answered (or given up) after more than SLOW_ANSWER_MS, and the slowest three. */
  slowAnswers: number;
  slowest: string[];
  /** 500s whose body is not the exact documented one. */
  inexact500: number;
  /** Why requests got no answer, by message (the most frequent few). */
  noAnswerErrors: Record<string, number>;
  /** Requests that stored more than one order (a retried INSERT). */
  multipleOrders: number;
  /** Answers the OpenAPI document does not describe (the first few). */
  offContract: string[];
  unexpectedExits: string[];
  /** How long after the load and the fault ended no order was stuck any more; null if never within the timeout. */
  settledAfterMs: number | null;
  /** How long after that every order at the venue was final (filled); null if not within FILL_WAIT_MS. */
  filledAfterMs: number | null;
  /** Answers the proxy lost during the run (null: no proxy). */
  lostAnswers: number | null;
  /**
   * The harness's own event-loop delay during the load (p99 and max, ms) and the machine's load
   * average: on a machine too busy to keep the load's pace, the figures mean less.
   */
  harnessLagMs: { p99: number; max: number };
  loadAverage: string;
  /** What happened when, for the report. */
  timeline: string[];
  /** A few of the requests behind a non-zero must-be-0 figure. */
  examples: string[];
}

export const MUST_BE_ZERO = ['placedAfter500', 'duplicates', 'notPlaced201', 'stuck'] as const;

/** The must-be-0 figures that are not 0, e.g. ['placedAfter500=3']. */
export function violations(result: ChaosResult): string[] {
  return MUST_BE_ZERO.filter((key) => result[key] !== 0).map((key) => `${key}=${result[key]}`);
}

let runs = 0;

/** Runs one fault scenario on a stack that is up. The stack may be reused for the next one. */
export async function runScenario(stack: Stack, options: ScenarioOptions): Promise<ChaosResult> {
  const fault = FAULTS[options.fault];
  const faultMs = options.faultMs ?? fault.defaultMs;
  const description = fault.describe(faultMs);
  // A letter per run, so that runs on one stack never count each other's orders.
  const prefix = `${fault.code}${String.fromCharCode(65 + (runs++ % 26))}`;
  const started = performance.now();
  const at = () => `${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s`;
  const timeline: string[] = [];
  const log: Log = (line) => {
    timeline.push(`${at()} ${line}`);
    options.log(`[${options.fault}] ${line}`);
  };
  const exitsBefore = stack.fleet.unexpectedExits.length;
  const lostBefore = stack.proxy?.lost.length ?? 0;
  const lag = monitorEventLoopDelay({ resolution: 10 });

  await warmUp(stack);
  // The same load for a few seconds first, not counted: the APIs' connection pools fill and the
  // processes warm up before the figures start (a cold pool opening ten connections at once
  // under load fails requests that have nothing to do with the fault).
  const warming = new Load(stack, `WRM${prefix[3]}`, performance.now());
  await warming.run(options.rate, WARM_UP_S);
  await Promise.all(warming.sent.map((outcome) => outcome.done));
  const warm = warming.sent.filter((outcome) => outcome.result.status === 201).length;
  log(`warm-up: ${warm} of ${warming.sent.length} orders accepted`);
  log(`load: ${options.rate} orders/s for ${options.seconds} s; fault at ${options.faultAtS} s: ${description}`);
  const loadStart = performance.now();
  const loadStartEpochMs = Date.now();
  lag.enable();
  const load = new Load(stack, prefix, loadStart);
  const faultDone = sleep(options.faultAtS * 1000).then(async () => {
    log('fault starts');
    await fault.inject({ stack, ms: faultMs, log, burst: (count) => load.burst(count) });
    log('fault over');
  });
  await load.run(options.rate, options.seconds);
  const outcomes = load.sent;
  log(`load sent ${outcomes.length} orders; waiting for the fault to end and every answer`);
  await faultDone;
  await Promise.all(outcomes.map((outcome) => outcome.done));
  lag.disable();
  log('every request answered or given up; settling');

  const db = new pg.Client({ connectionString: stack.databaseUrl });
  await db.connect();
  try {
    const settledAfterMs = await settle(db, prefix, OPEN_STATUSES, options.settleTimeoutMs);
    log(settledAfterMs === null ? `not settled within ${options.settleTimeoutMs / 1000} s` : `settled after ${settledAfterMs} ms`);
    const filledAfterMs = await settle(db, prefix, WORKING_STATUSES, FILL_WAIT_MS);
    log(filledAfterMs === null ? `orders still working at the venue after ${FILL_WAIT_MS / 1000} s` : `filled after ${filledAfterMs} ms`);
    const figures = await tally(
      db,
      prefix,
      outcomes.map((outcome) => outcome.result),
      loadStartEpochMs,
    );
    log(
      `${figures.requests} requests: ${figures.status201} × 201, ${figures.status500} × 500, other ${JSON.stringify(figures.otherStatuses)}; ` +
        `placed ${figures.placed}, placed after 500 ${figures.placedAfter500}, duplicates ${figures.duplicates}, ` +
        `201 not placed ${figures.notPlaced201}, stuck ${figures.stuck}, filled ${figures.filled}, working ${figures.working}, ` +
        `max latency ${figures.maxLatencyMs} ms`,
    );
    return {
      fault: options.fault,
      description,
      ...figures,
      unexpectedExits: stack.fleet.unexpectedExits.slice(exitsBefore),
      settledAfterMs,
      filledAfterMs,
      lostAnswers: stack.proxy ? stack.proxy.lost.length - lostBefore : null,
      harnessLagMs: { p99: Math.round(lag.percentile(99) / 1e6), max: Math.round(lag.max / 1e6) },
      loadAverage: os
        .loadavg()
        .map((value) => value.toFixed(1))
        .join(' '),
      timeline,
    };
  } finally {
    await db.end();
  }
}

export interface ChaosOptions extends ScenarioOptions {
  /** A workflow bundle built before; built into a temporary folder when absent. */
  workflowBundlePath?: string;
}

/** One scenario on a stack of its own, started and stopped around it. */
export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const bundleDir = options.workflowBundlePath ? undefined : await mkdtemp(path.join(os.tmpdir(), 'order-service-chaos-bundle-'));
  try {
    const bundle = options.workflowBundlePath ?? (await prepareWorkflowBundle(bundleDir!));
    options.log(`[${options.fault}] starting PostgreSQL, Temporal, the venue, ingest, 2 workers and 2 APIs`);
    const stack = await startStack({ log: options.log, proxy: FAULTS[options.fault].proxy, workflowBundlePath: bundle });
    try {
      return await runScenario(stack, options);
    } finally {
      await stack.stop();
    }
  } finally {
    if (bundleDir) await rm(bundleDir, { recursive: true, force: true });
  }
}

/**
 * Compiles every schema of POST /orders' answers now: compiling one on its first use blocks the
 * harness's event loop for up to seconds on a busy machine, in the middle of the load.
 */
function compileContract(): void {
  const responses = openApiDocument().paths['/orders']?.post?.responses ?? {};
  for (const [status, response] of Object.entries(responses)) {
    const at = ['paths', '/orders', 'post', 'responses', status];
    for (const name of Object.keys(response.headers ?? {})) validatorAt([...at, 'headers', name, 'schema']);
    if (response.content?.['application/json']) validatorAt([...at, 'content', 'application/json', 'schema']);
  }
}

/** One order through each API: the stack works before the load starts (not counted). */
async function warmUp(stack: Stack): Promise<void> {
  compileContract();
  const deadline = Date.now() + 60_000;
  for (const url of stack.fleet.apiUrls()) {
    for (;;) {
      const response = await post(url, 'WARMUP000000').catch(() => null);
      if (response?.status === 201) break;
      if (Date.now() > deadline) throw new Error(`the API at ${url} did not accept an order within 60 s (last: ${response?.status})`);
      await sleep(500);
    }
  }
}

function post(url: string, instrument: string): Promise<Response> {
  return fetch(`${url}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'market', side: instrument.charCodeAt(11) % 2 === 0 ? 'buy' : 'sell', instrument, quantity: 1 }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
}

/**
 * Open-model load: request i leaves at i/rate seconds whatever the earlier ones are doing, round
 * robin over the APIs that run. A fault may add a burst of requests at once (burst()).
 */
class Load {
  readonly sent: { result: Outcome; done: Promise<void> }[] = [];
  private next = 0;
  private bursts = 0;

  constructor(
    private readonly stack: Stack,
    private readonly prefix: string,
    private readonly loadStart: number,
  ) {}

  async run(rate: number, seconds: number): Promise<void> {
    const total = Math.round(rate * seconds);
    for (let i = 0; i < total; i += 1) {
      const wait = this.loadStart + (i * 1000) / rate - performance.now();
      if (wait > 0) await sleep(wait);
      this.send(`${this.prefix}${String(i).padStart(8, '0')}`);
    }
  }

  /** `count` requests at once; their instruments (numbered from 90000000, apart from the steady ones). */
  burst(count: number): string[] {
    const instruments: string[] = [];
    for (let i = 0; i < count; i += 1) {
      this.bursts += 1;
      instruments.push(`${this.prefix}${String(90_000_000 + this.bursts).padStart(8, '0')}`);
    }
    for (const instrument of instruments) this.send(instrument);
    return instruments;
  }

  private send(instrument: string): void {
    const urls = this.stack.fleet.apiUrls();
    const result: Outcome = { instrument, sentAtMs: performance.now() - this.loadStart, latencyMs: 0, status: null };
    const url = urls[this.next++ % Math.max(urls.length, 1)];
    this.sent.push({ result, done: send(url, instrument, result) });
  }
}

async function send(url: string | undefined, instrument: string, result: Outcome): Promise<void> {
  const t0 = performance.now();
  try {
    if (!url) throw new Error('no API running');
    const response = await post(url, instrument);
    const text = await response.text();
    result.status = response.status;
    result.text = text;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (response.status === 201) result.orderId = (body as { id?: string } | undefined)?.id;
    try {
      assertInContract({ method: 'POST', url: `${url}/orders`, status: response.status, headers: response.headers, text, body });
    } catch (error) {
      result.offContract = `${response.status}: ${String(error).slice(0, 300)}`;
    }
  } catch (error) {
    result.error = error instanceof Error ? `${error.message}${error.cause ? ` (${String(error.cause)})` : ''}` : String(error);
  } finally {
    result.latencyMs = performance.now() - t0;
  }
}

/** Waits until no order of the run has had one of `statuses` for 3 s; how long that took, or null. */
async function settle(db: pg.Client, prefix: string, statuses: readonly string[], timeoutMs: number): Promise<number | null> {
  const started = Date.now();
  let finalSince: number | null = null;
  while (Date.now() - started < timeoutMs) {
    const { rows } = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM orders WHERE instrument LIKE $1 AND status::text = ANY($2::text[])',
      [`${prefix}%`, statuses],
    );
    if (rows[0]?.n === 0) {
      finalSince ??= Date.now();
      if (Date.now() - finalSince >= 3000) return finalSince - started;
    } else {
      finalSince = null;
    }
    await sleep(500);
  }
  return null;
}

async function tally(db: pg.Client, prefix: string, outcomes: Outcome[], loadStartEpochMs: number) {
  await ensureLedgerSchema(db); // a run in which no worker ever started has no ledger yet
  const orders = await db.query<{ id: string; instrument: string; status: string }>(
    'SELECT id::text, instrument, status::text FROM orders WHERE instrument LIKE $1',
    [`${prefix}%`],
  );
  const ledger = await db.query<{ order_id: string; instrument: string }>(
    `SELECT order_id::text, ticket->>'instrument' AS instrument FROM exchange_sim.accepted_orders
     WHERE status = 'accepted' AND ticket->>'instrument' LIKE $1`,
    [`${prefix}%`],
  );
  const placedIds = new Set(ledger.rows.map((row) => row.order_id));
  const placementsByInstrument = new Map<string, number>();
  for (const row of ledger.rows) placementsByInstrument.set(row.instrument, (placementsByInstrument.get(row.instrument) ?? 0) + 1);
  const stuckRows = orders.rows.filter((row) => OPEN_STATUSES.includes(row.status));

  // Up to 10 examples of wrong figures, each told with its order's history (times after the load started).
  const examples: { what: string; orderIds: string[] }[] = [];
  const otherStatuses: Record<string, number> = {};
  let status201 = 0;
  let status500 = 0;
  let placedAfter500 = 0;
  let notPlaced201 = 0;
  let inexact500 = 0;
  const offContract: string[] = [];
  for (const outcome of outcomes) {
    if (outcome.offContract && offContract.length < 5) offContract.push(outcome.offContract);
    if (outcome.status === 201) {
      status201 += 1;
      if (!outcome.orderId || !placedIds.has(outcome.orderId)) {
        notPlaced201 += 1;
        if (examples.length < 10) {
          examples.push({
            what: `201 not placed: ${outcome.instrument}, sent at ${fmt(outcome.sentAtMs)}, answered at ${fmt(outcome.sentAtMs + outcome.latencyMs)}`,
            orderIds: outcome.orderId ? [outcome.orderId] : [],
          });
        }
      }
    } else if (outcome.status === 500) {
      status500 += 1;
      if (outcome.text !== EXACT_500) inexact500 += 1;
      if ((placementsByInstrument.get(outcome.instrument) ?? 0) > 0) {
        placedAfter500 += 1;
        if (examples.length < 10) {
          examples.push({
            what: `placed after 500: ${outcome.instrument}, sent at ${fmt(outcome.sentAtMs)}, answered at ${fmt(outcome.sentAtMs + outcome.latencyMs)}`,
            orderIds: orders.rows.filter((row) => row.instrument === outcome.instrument).map((row) => row.id),
          });
        }
      }
    } else {
      const key = outcome.status === null ? 'none' : String(outcome.status);
      otherStatuses[key] = (otherStatuses[key] ?? 0) + 1;
    }
  }
  let duplicates = 0;
  for (const [instrument, count] of placementsByInstrument) {
    if (count > 1) {
      duplicates += count - 1;
      if (examples.length < 10) {
        const orderIds = orders.rows.filter((row) => row.instrument === instrument).map((row) => row.id);
        examples.push({ what: `placed ${count} times: ${instrument}`, orderIds });
      }
    }
  }
  const ordersByInstrument = new Map<string, number>();
  for (const row of orders.rows) ordersByInstrument.set(row.instrument, (ordersByInstrument.get(row.instrument) ?? 0) + 1);
  const multipleOrders = [...ordersByInstrument.values()].filter((count) => count > 1).length;
  for (const row of stuckRows.slice(0, 3)) examples.push({ what: `stuck: ${row.instrument}`, orderIds: [row.id] });
  return {
    requests: outcomes.length,
    status201,
    status500,
    otherStatuses,
    placed: ledger.rows.length,
    placedAfter500,
    duplicates,
    notPlaced201,
    stuck: stuckRows.length,
    filled: orders.rows.filter((row) => row.status === 'filled').length,
    working: orders.rows.filter((row) => WORKING_STATUSES.includes(row.status)).length,
    maxLatencyMs: Math.round(Math.max(0, ...outcomes.map((outcome) => outcome.latencyMs))),
    slowAnswers: outcomes.filter((outcome) => outcome.latencyMs > SLOW_ANSWER_MS).length,
    slowest: outcomes
      .filter((outcome) => outcome.latencyMs > SLOW_ANSWER_MS)
      .sort((a, b) => b.latencyMs - a.latencyMs)
      .slice(0, 3)
      .map(
        (outcome) =>
          `${outcome.instrument} sent at ${fmt(outcome.sentAtMs)}: ${outcome.status ?? `no answer (${outcome.error})`} after ${fmt(outcome.latencyMs)}`,
      ),
    inexact500,
    noAnswerErrors: mostFrequent(
      outcomes.flatMap((outcome) => (outcome.status === null ? [outcome.error ?? 'unknown'] : [])),
      3,
    ),
    multipleOrders,
    offContract,
    examples: await describeExamples(db, examples, loadStartEpochMs),
  };
}

async function describeExamples(db: pg.Client, examples: { what: string; orderIds: string[] }[], loadStartEpochMs: number) {
  const ids = examples.flatMap((example) => example.orderIds);
  const events = await db.query<{ order_id: string; status: string; at_ms: number }>(
    `SELECT order_id::text, status::text, (extract(epoch FROM at) * 1000)::float8 AS at_ms FROM order_events
     WHERE order_id = ANY($1::uuid[]) ORDER BY id`,
    [ids],
  );
  const placements = await db.query<{ order_id: string; at_ms: number }>(
    `SELECT order_id::text, (extract(epoch FROM accepted_at) * 1000)::float8 AS at_ms FROM exchange_sim.accepted_orders
     WHERE order_id = ANY($1::uuid[]) AND status = 'accepted'`,
    [ids],
  );
  // Every order of the request (a request should make at most one) with its statuses and placement.
  const historyOf = (orderId: string) => {
    const history = events.rows
      .filter((event) => event.order_id === orderId)
      .map((event) => `${event.status} at ${fmt(event.at_ms - loadStartEpochMs)}`);
    const placed = placements.rows.find((row) => row.order_id === orderId);
    if (placed) history.push(`at the exchange at ${fmt(placed.at_ms - loadStartEpochMs)}`);
    return `order ${orderId}: ${history.join(', ')}`;
  };
  return examples.map(({ what, orderIds }) => [what, ...orderIds.map(historyOf)].join('; '));
}

function mostFrequent(values: string[], keep: number): Record<string, number> {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]).slice(0, keep));
}

function fmt(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

/** One Markdown table of the runs, and under it what each must-be-0 failure was. */
export function renderTable(results: (ChaosResult | { fault: FaultName; error: string })[]): string {
  const header = [
    'fault',
    'requests',
    '201',
    '500',
    'other',
    'placed',
    'filled',
    'placed after 500',
    'duplicates',
    '201 not placed',
    'stuck',
    'max latency ms',
  ];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`];
  const notes: string[] = [];
  for (const result of results) {
    if ('error' in result) {
      lines.push(`| ${result.fault} | ${'error | '.repeat(header.length - 1).trim()}`);
      notes.push(`- ${result.fault}: the run failed: ${result.error}`);
      continue;
    }
    const other = Object.values(result.otherStatuses).reduce((sum, count) => sum + count, 0);
    const mark = (key: (typeof MUST_BE_ZERO)[number]) => (result[key] === 0 ? '0' : `**${result[key]}**`);
    lines.push(
      `| ${result.fault} | ${result.requests} | ${result.status201} | ${result.status500} | ${other} | ${result.placed} | ${result.filled} | ` +
        `${mark('placedAfter500')} | ${mark('duplicates')} | ${mark('notPlaced201')} | ${mark('stuck')} | ${result.maxLatencyMs} |`,
    );
    const extra = [
      other > 0 ? `other answers ${JSON.stringify(result.otherStatuses)}` : '',
      result.inexact500 > 0 ? `${result.inexact500} 500s with another body than the documented one` : '',
      result.slowAnswers > 0
        ? `${result.slowAnswers} answers took over ${SLOW_ANSWER_MS / 1000} s (slowest: ${result.slowest.join('; ')})`
        : '',
      Object.keys(result.noAnswerErrors).length > 0 ? `no answer because: ${JSON.stringify(result.noAnswerErrors)}` : '',
      result.multipleOrders > 0 ? `${result.multipleOrders} requests stored more than one order` : '',
      result.offContract.length > 0 ? `off the OpenAPI document: ${result.offContract.join('; ')}` : '',
      result.unexpectedExits.length > 0 ? `processes that exited by themselves: ${result.unexpectedExits.join(', ')}` : '',
      result.settledAfterMs === null ? 'never settled' : '',
      result.working > 0 ? `${result.working} orders still working at the venue (not filled) ${FILL_WAIT_MS / 1000} s after settling` : '',
      ...result.examples,
    ].filter(Boolean);
    if (extra.length > 0) notes.push(`- ${result.fault}: ${extra.join('; ')}`);
  }
  return [...lines, ...(notes.length > 0 ? ['', ...notes] : [])].join('\n');
}
