// What API keys and the per-account limit cost POST /orders (issue 13, "Speed"): an API without
// keys (AUTH_REQUIRED=false, the demo account) against one that requires them, the same load in
// interleaved rounds of the same run, one worker placing the orders meanwhile. Both APIs run the
// per-account limiter (for the requests without a key too: RATE_LIMIT_KEYLESS=true, serviceEnv):
// its limit is set far above what the load can reach, so it never refuses but still leases its
// points from PostgreSQL.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Context } from 'koa';
import { authenticate } from '../api/auth.js';
import { createLogger } from '../config/logger.js';
import { AccountsRepository } from '../prisma/accounts-repository.js';
import { httpLoad } from './load.js';
import { type Bench, cpuMeter, errorsSince, instrumentFor, type Measured, median, orderBody, queueFor, serviceEnv } from './scenarios.js';
import { type Service, startApi, startWorker } from './services.js';

export type AuthMode = 'off' | 'on';

/** What auth and the limiter asked the database for during some requests (from the API's /metrics). */
export interface AuthRoundTrips {
  /** POST /orders the API answered (http_requests_total), those the load generator stopped waiting for included. */
  requests: number;
  /** auth_key_lookups_total: answered from the process's cache, or from the database (then one last_used_at update too). */
  lookupsCache: number;
  lookupsDatabase: number;
  /** rate_limiter_storage_calls_total{limiter="account"}: one per lease of points. */
  limiterCalls: number;
}

export interface AuthRound {
  mode: AuthMode;
  load: Measured;
  trips: AuthRoundTrips;
}

export interface AuthResult {
  connections: number;
  warmupS: number;
  durationS: number;
  rounds: AuthRound[];
  median: Record<AuthMode, { perSecond: number; p99Ms: number }>;
  /** Keys on (B) ÷ keys off (A), of the medians. */
  ratio: { perSecond: number; p99Ms: number };
  /** Over the measured rounds of each mode. */
  trips: Record<AuthMode, AuthRoundTrips>;
  /** authenticate() alone in this process, a cached key against no key: CPU µs per request, median of interleaved rounds. */
  middlewareCpuUs: Record<AuthMode, number>;
  settings: { cacheTtlMs: number; perMinute: number };
}

/** Throughput within 5%, p99 within 5% (issue 13). */
export const AUTH_TOLERANCE = 0.05;

const ROUNDS = { short: 3, full: 4 } as const;
// The first round after a 1 s warm-up (--short) was the slowest of both runs it was in: JIT,
// pools and the worker still settling. 5 s at least keeps that out of the first A round.
const MIN_WARMUP_S = 5;
const RATE_LIMIT_PER_MINUTE = '100000000';

export async function authScenario(bench: Bench): Promise<AuthResult> {
  const { profile } = bench;
  const warmupS = Math.max(profile.warmupS, MIN_WARMUP_S);
  const key = await new AccountsRepository(bench.prisma).createKey(`bench-auth-${Date.now()}`);
  const env = serviceEnv(bench, queueFor('auth'), { RATE_LIMIT_PER_MINUTE });
  const [off, on, worker] = await Promise.all([
    startApi('api-auth-off', { ...env, AUTH_REQUIRED: 'false' }),
    startApi('api-auth-on', { ...env, AUTH_REQUIRED: 'true' }),
    startWorker('worker-auth', env),
  ]);
  try {
    const apis: Record<AuthMode, { api: Service; metricsUrl: string; headers: Record<string, string> }> = {
      off: { api: off, metricsUrl: managementUrl(off), headers: {} },
      on: { api: on, metricsUrl: managementUrl(on), headers: { authorization: `Bearer ${key.apiKey}` } },
    };
    const instrument = instrumentFor('auth');
    const body = orderBody(instrument);
    const run = (mode: AuthMode, durationS: number) =>
      httpLoad({ urls: [apis[mode].api.url], connections: profile.connections, durationS, body, headers: apis[mode].headers });
    const modes: AuthMode[] = ['off', 'on'];
    bench.log(`auth: ${warmupS} s warm-up of each API (keys off, keys on; the key's lookup cached from there)`);
    for (const mode of modes) await run(mode, warmupS);
    const rounds: AuthRound[] = [];
    for (let round = 1; round <= ROUNDS[profile.name]; round++) {
      // A, B then B, A: whatever drifts over the run (the machine's other load) weighs on both alike.
      for (const mode of round % 2 === 1 ? modes : [...modes].reverse()) {
        const { api, metricsUrl } = apis[mode];
        // Each round starts with the worker idle: the orders a round accepted are placed during
        // the next one otherwise, and that round competes with their placement for Temporal.
        await waitUntilPlaced(bench, instrument);
        bench.log(`auth: round ${round}, keys ${mode}: ${profile.connections} connections, ${profile.durationS} s`);
        const before = await readTrips(metricsUrl);
        const errorsBefore = [api.errorCounts()];
        const cpu = cpuMeter(bench, { api: [api], worker: [worker] });
        const result = await run(mode, profile.durationS);
        const load = { ...result, cpu: cpu(), serverErrors: errorsSince([api], errorsBefore) };
        rounds.push({ mode, load, trips: difference(await settledTrips(metricsUrl, result.latency.maxMs), before) });
      }
    }
    bench.log('auth: authenticate() alone, in this process (keys off, keys on, interleaved)');
    const middlewareCpuUs = await middlewareCost(bench, key.apiKey);
    const of = (mode: AuthMode) => rounds.filter((round) => round.mode === mode);
    const medians = (mode: AuthMode) => ({
      perSecond: median(of(mode).map((round) => round.load.perSecond)),
      p99Ms: median(of(mode).map((round) => round.load.latency.p99Ms)),
    });
    const m = { off: medians('off'), on: medians('on') };
    const total = (mode: AuthMode) =>
      of(mode).reduce<AuthRoundTrips>(
        (sum, round) => ({
          requests: sum.requests + round.trips.requests,
          lookupsCache: sum.lookupsCache + round.trips.lookupsCache,
          lookupsDatabase: sum.lookupsDatabase + round.trips.lookupsDatabase,
          limiterCalls: sum.limiterCalls + round.trips.limiterCalls,
        }),
        { requests: 0, lookupsCache: 0, lookupsDatabase: 0, limiterCalls: 0 },
      );
    return {
      connections: profile.connections,
      warmupS,
      durationS: profile.durationS,
      rounds,
      median: m,
      ratio: { perSecond: m.on.perSecond / m.off.perSecond, p99Ms: m.on.p99Ms / m.off.p99Ms },
      trips: { off: total('off'), on: total('on') },
      middlewareCpuUs,
      // The APIs inherit this process's environment: its AUTH_CACHE_TTL_MS, else the service's default.
      settings: {
        cacheTtlMs: Number(process.env.AUTH_CACHE_TTL_MS ?? bench.config.AUTH_CACHE_TTL_MS),
        perMinute: Number(RATE_LIMIT_PER_MINUTE),
      },
    };
  } finally {
    await Promise.all([off.stop(), on.stop(), worker.stop()]);
  }
}

/**
 * What authenticate() itself costs a request, apart from the machine's noise around a whole
 * POST: the middleware alone, called in a loop with the bench's database behind it, a valid key
 * (cached after its first lookup) against no Authorization with AUTH_REQUIRED=false.
 */
async function middlewareCost(bench: Bench, apiKey: string): Promise<Record<AuthMode, number>> {
  const logger = createLogger('bench-auth', 'silent');
  const keys = new AccountsRepository(bench.prisma);
  const middleware = {
    off: authenticate({ keys, required: false, cacheTtlMs: bench.config.AUTH_CACHE_TTL_MS, logger }),
    on: authenticate({ keys, required: true, cacheTtlMs: bench.config.AUTH_CACHE_TTL_MS, logger }),
  };
  const headers: Record<AuthMode, Record<string, string>> = { off: {}, on: { authorization: `Bearer ${apiKey}` } };
  const next = async () => {};
  const calls = 20_000;
  const loop = async (mode: AuthMode) => {
    const before = process.cpuUsage();
    for (let i = 0; i < calls; i++) {
      const ctx = {
        get: (name: string) => headers[mode][name.toLowerCase()] ?? '',
        set: () => {},
        state: {},
        request: {},
        ip: '127.0.0.1',
      };
      await middleware[mode](ctx as unknown as Context, next);
    }
    const used = process.cpuUsage(before);
    return (used.user + used.system) / calls;
  };
  for (const mode of ['off', 'on'] as const) await loop(mode);
  const samples: Record<AuthMode, number[]> = { off: [], on: [] };
  for (let round = 0; round < 5; round++) for (const mode of ['off', 'on'] as const) samples[mode].push(await loop(mode));
  return { off: median(samples.off), on: median(samples.on) };
}

/** Waits (at most 3 minutes) until no order of `instrument` waits to be placed. */
async function waitUntilPlaced(bench: Bench, instrument: string): Promise<void> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const { rows } = await bench.pool.query<{ waiting: number }>(
      `SELECT count(*)::int AS waiting FROM orders WHERE instrument = $1 AND status IN ('pending', 'accepted', 'placing')`,
      [instrument],
    );
    if ((rows[0]?.waiting ?? 0) === 0 || Date.now() > deadline) return;
    await sleep(250);
  }
}

/** Database round trips of auth + limiter per request: a lookup from the database is a SELECT and an UPDATE (last_used_at). */
export function roundTripsPerRequest(trips: AuthRoundTrips): number {
  return trips.requests > 0 ? (2 * trips.lookupsDatabase + trips.limiterCalls) / trips.requests : NaN;
}

function difference(after: AuthRoundTrips, before: AuthRoundTrips): AuthRoundTrips {
  return {
    requests: after.requests - before.requests,
    lookupsCache: after.lookupsCache - before.lookupsCache,
    lookupsDatabase: after.lookupsDatabase - before.lookupsDatabase,
    limiterCalls: after.limiterCalls - before.limiterCalls,
  };
}

/**
 * The counters once the requests still in flight when the load stopped are answered (the API
 * finishes them; their lookups and leases belong to the round): after the round's slowest answer
 * took (they started before the end), the same request count twice in a row, 200 ms apart.
 */
async function settledTrips(metricsUrl: string, slowestMs: number): Promise<AuthRoundTrips> {
  await sleep(Math.min(30_000, (Number.isFinite(slowestMs) ? slowestMs : 0) + 500));
  let last = await readTrips(metricsUrl);
  const deadline = Date.now() + 30_000;
  for (;;) {
    await sleep(200);
    const next = await readTrips(metricsUrl);
    if (next.requests === last.requests || Date.now() > deadline) return next;
    last = next;
  }
}

async function readTrips(metricsUrl: string): Promise<AuthRoundTrips> {
  const response = await fetch(metricsUrl);
  if (!response.ok) throw new Error(`GET ${metricsUrl}: ${response.status}`);
  const text = await response.text();
  const posts = text
    .split('\n')
    .filter((line) => line.startsWith('http_requests_total{method="POST",route="/orders",'))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
  return {
    requests: posts,
    lookupsCache: sample(text, 'auth_key_lookups_total{source="cache"}'),
    lookupsDatabase: sample(text, 'auth_key_lookups_total{source="database"}'),
    limiterCalls: sample(text, 'rate_limiter_storage_calls_total{limiter="account"}'),
  };
}

function sample(text: string, series: string): number {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  if (!line) throw new Error(`no ${series} in the API's /metrics`);
  return Number(line.slice(series.length + 1));
}

/**
 * The API's management port: it listens on MANAGEMENT_PORT=0 (any free port, so that benchmark
 * processes never collide) and does not log it, so it is read from the kernel's table of the
 * process's listening sockets: the one that is not its public port.
 */
function managementUrl(api: Service): string {
  const publicPort = Number(new URL(api.url).port);
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${api.pid}/fd`)) {
    try {
      const socket = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${api.pid}/fd/${fd}`));
      if (socket) inodes.add(socket[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const ports = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // fields: sl, local_address (hex ip:port), rem_address, st (0A = LISTEN), …, inode (10th)
      if (fields[3] === '0A' && inodes.has(fields[9]!)) ports.add(Number.parseInt(fields[1]!.split(':')[1]!, 16));
    }
  }
  ports.delete(publicPort);
  if (ports.size !== 1) throw new Error(`${api.name}: expected one management port, found ${[...ports].join(', ') || 'none'}`);
  return `http://127.0.0.1:${[...ports][0]}/metrics`;
}
