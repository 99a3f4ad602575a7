// The shape of the GET /events run (issue #23's target): how many accounts, how the flow is
// spread over them, the streams and their scopes, the reconnects. Pure: the orchestrator
// (bench/sse-fanout.ts), the flow writer and the client runners all read the same plan.

export interface SseShape {
  name: 'full' | 'short';
  /** The fraction of the shape this is (1: the shape itself). */
  scale: number;
  accounts: number;
  /** Events per second written into order_stream. */
  rate: number;
  flowS: number;
  /** Orders per account: an order-scoped stream follows one of them, the flow alternates between them. */
  ordersPerAccount: number;
  streams: number;
  apis: number;
  /** One stream in this many follows one order (`?order_id=`). */
  scopedEvery: number;
  /** The share of all streams that reconnect each second, and the age of the Last-Event-ID they come back with. */
  reconnectsPerStreamS: number;
  resumeAgeS: readonly [number, number];
  /** Client processes (node:child_process fork) the streams are spread over. */
  runners: number;
  /** SSE_RING_SIZE of the APIs; undefined: the service's default. */
  ringSize: number | undefined;
  /** One event in this many (by exec number) has its commit-to-client time measured, at every stream it reaches first-hand. */
  sampleEvery: number;
}

/** The shape; --short is a tenth of it, its ring a tenth of the default so resumes reach the database as often. */
export function sseShape(mode: 'full' | 'short'): SseShape {
  const scale = mode === 'full' ? 1 : 0.1;
  const streams = Math.round(5000 * scale);
  return {
    name: mode,
    scale,
    accounts: Math.round(2000 * scale),
    rate: Math.round(20_000 * scale),
    flowS: mode === 'full' ? 60 : 30,
    ordersPerAccount: 2,
    streams,
    apis: 2,
    scopedEvery: 10,
    reconnectsPerStreamS: 0.01,
    resumeAgeS: [1, 30],
    runners: Math.max(2, Math.ceil(streams / 1250)),
    ringSize: mode === 'full' ? undefined : Math.round(20_000 * scale),
    sampleEvery: 10,
  };
}

/** A deterministic generator (mulberry32), so that a run's flow and streams are the same every time. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The flow's schedule: exec number e goes to account schedule[e % length]. Account k has
 * ⌈accounts / (k + 1)⌉ slots (Zipf: at 2,000 accounts the first has 11% of the flow, the first 20
 * 41%, the first 200 68%), shuffled so that no account's events come in one run.
 */
export function flowSchedule(accounts: number): Int32Array {
  const slots: number[] = [];
  for (let k = 0; k < accounts; k++) for (let n = Math.ceil(accounts / (k + 1)); n > 0; n--) slots.push(k);
  const random = seededRandom(23);
  for (let i = slots.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [slots[i], slots[j]] = [slots[j]!, slots[i]!];
  }
  return Int32Array.from(slots);
}

/** The share of the flow of the `top` largest accounts. */
export function shareOfTop(schedule: Int32Array, top: number): number {
  let n = 0;
  for (const account of schedule) if (account < top) n++;
  return n / schedule.length;
}

export interface StreamPlan {
  account: number;
  /** The order (index within its account) a scoped stream follows; null: the whole account. */
  order: number | null;
  /** The API process it first connects to. */
  api: number;
}

/**
 * The streams: every account has 2 or 3 (2.5 on average, whatever its share of the flow: a
 * client per person or screen, not per event), every `scopedEvery`-th follows one order; spread
 * over the APIs in turn.
 */
export function planStreams(shape: SseShape): StreamPlan[] {
  const plans: StreamPlan[] = [];
  for (let account = 0; plans.length < shape.streams; account = (account + 1) % shape.accounts) {
    const own = plans.length < 2 * shape.accounts ? 2 : 1;
    for (let k = 0; k < own && plans.length < shape.streams; k++) {
      const i = plans.length;
      const scoped = i % shape.scopedEvery === shape.scopedEvery - 1;
      const round = Math.floor(i / shape.scopedEvery);
      plans.push({ account, order: scoped ? round % shape.ordersPerAccount : null, api: (i + round) % shape.apis });
    }
  }
  return plans;
}

/**
 * What an event carries so a client can check it alone: `SSE-<exec>-<account>-<order>-<n of the
 * account>-<n of the order>` as its exec_id. The numbers of an account's (an order's) events are
 * 1, 2, 3… in stream order (one writer, one transaction at a time, rows inserted in exec order),
 * so a stream that got n knows the next is n + 1: a gap, a repeat or another scope's event shows.
 */
export interface EventTag {
  exec: number;
  account: number;
  order: number;
  accountSeq: number;
  orderSeq: number;
}

export const TAG_PREFIX = 'SSE-';

export function execIdOf(tag: EventTag): string {
  return `${TAG_PREFIX}${tag.exec}-${tag.account}-${tag.order}-${tag.accountSeq}-${tag.orderSeq}`;
}

export function parseExecId(text: string): EventTag | undefined {
  if (!text.startsWith(TAG_PREFIX)) return undefined;
  const parts = text.slice(TAG_PREFIX.length).split('-').map(Number);
  if (parts.length !== 5 || !parts.every(Number.isSafeInteger)) return undefined;
  const [exec, account, order, accountSeq, orderSeq] = parts as [number, number, number, number, number];
  return { exec, account, order, accountSeq, orderSeq };
}
