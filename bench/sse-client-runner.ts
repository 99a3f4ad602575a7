// A process of GET /events clients for the bench (forked by bench/sse-fanout.ts, several at once):
// opens its share of the streams, checks every event of every stream (bench/sse-check.ts),
// reconnects streams at random with a Last-Event-ID received 1–30 s before, and reports over IPC:
// sampled first-hand arrivals as it goes, its counts and violations at the end. The clients are
// out of the bench's process so that their CPU is not the writer's, as in the service's use.
import http from 'node:http';
import { StreamCheck } from './sse-check.js';
import type { RunnerInit, RunnerReport, ToParent, ToRunner } from './sse-runner-protocol.js';

interface Mark {
  at: number;
  id: string;
  seq: number;
}

interface Stream {
  check: StreamCheck;
  apiKey: string;
  scopeQuery: string;
  /** Bumped at every new connection: a dropped connection's late chunks are ignored. */
  generation: number;
  request: http.ClientRequest | undefined;
  /** (time, last id, its number) once a second, for resumes from an id of a given age. */
  marks: Mark[];
  /** The highest number of its scope written (known once the flow ended). */
  total: number;
}

const now = () => performance.timeOrigin + performance.now();
const send = (message: ToParent) => process.send!(message);

let init: RunnerInit;
const streams: Stream[] = [];
const report: RunnerReport = {
  type: 'report',
  streams: 0,
  opened: 0,
  reconnects: 0,
  serverEnds: 0,
  errors: 0,
  firstError: undefined,
  resumeAgesS: [],
  received: 0,
  delivered: 0,
  expected: 0,
  complete: 0,
  violations: { foreign: 0, outOfOrder: 0, missing: 0, repeated: 0 },
  notes: [],
};
let arrivals: { execs: number[]; ats: number[] } = { execs: [], ats: [] };
let reconnecting = false;
let draining = false;

function connect(stream: Stream, api: number, onOpen?: () => void): void {
  const generation = ++stream.generation;
  stream.request?.destroy();
  const current = () => stream.generation === generation;
  const request = http.get(
    `${init.apis[api]}/events${stream.scopeQuery}`,
    {
      agent: false,
      headers: { accept: 'text/event-stream', authorization: `Bearer ${stream.apiKey}`, 'last-event-id': stream.check.lastId },
    },
    (response) => {
      if (!current()) return void response.destroy();
      if (response.statusCode !== 200) {
        failed(stream, api, `GET /events answered ${response.statusCode}`, onOpen);
        return void response.resume();
      }
      report.opened++;
      onOpen?.();
      response.setEncoding('latin1');
      response.on('data', (text: string) => {
        if (!current()) return;
        stream.check.feed(text, (tag) => {
          if (tag.exec % init.sampleEvery !== 0) return;
          arrivals.execs.push(tag.exec);
          arrivals.ats.push(now());
        });
      });
      // The server ended it (a slow client cut, a shutdown): back with the last id, as EventSource does.
      response.on('close', () => {
        if (!current()) return;
        report.serverEnds++;
        connect(stream, otherApi(api));
      });
    },
  );
  request.on('error', (error) => {
    if (current()) failed(stream, api, error.message, onOpen);
  });
  stream.request = request;
}

/**
 * A connection refused or broken before its answer: tried again, also while draining (the
 * stream still owes its last events), unless the stream moved on or the report was sent.
 */
function failed(stream: Stream, api: number, message: string, onOpen?: () => void): void {
  report.errors++;
  report.firstError ??= message;
  const generation = stream.generation;
  setTimeout(() => {
    if (stream.generation === generation) connect(stream, api, onOpen);
  }, 500);
}

const otherApi = (api: number) => (api + 1) % init.apis.length;

/** A reconnect: the stream drops its connection and comes back, to either API, with an id of a random age. */
function reconnect(stream: Stream): void {
  const [least, most] = init.resumeAgeS;
  const wanted = now() - (least + Math.random() * (most - least)) * 1000;
  // The latest mark at least that old; a stream younger than the age resumes from its oldest.
  let mark = stream.marks[0]!;
  for (const candidate of stream.marks) if (candidate.at <= wanted) mark = candidate;
  report.reconnects++;
  report.resumeAgesS.push(Math.round((now() - mark.at) / 100) / 10);
  stream.check.resume(mark.id, mark.seq);
  connect(stream, Math.floor(Math.random() * init.apis.length));
}

function everySecond(): void {
  const at = now();
  const keepFrom = at - (init.resumeAgeS[1] + 2) * 1000;
  for (const stream of streams) {
    stream.marks.push({ at, id: stream.check.lastId, seq: stream.check.lastSeq });
    while (stream.marks.length > 2 && stream.marks[1]!.at <= keepFrom) stream.marks.shift();
  }
  if (arrivals.execs.length > 0) {
    send({ type: 'arrivals', ...arrivals });
    arrivals = { execs: [], ats: [] };
  }
}

let owed = 0;
function everyTenth(): void {
  if (!reconnecting || draining) return;
  owed += (streams.length * init.reconnectsPerStreamS) / 10;
  for (; owed >= 1; owed--) reconnect(streams[Math.floor(Math.random() * streams.length)]!);
}

async function start(message: RunnerInit): Promise<void> {
  init = message;
  const opened = now();
  for (const plan of init.streams) {
    const check = new StreamCheck(plan.account, plan.order, init.startId);
    streams.push({
      check,
      apiKey: plan.apiKey,
      scopeQuery: plan.orderId === null ? '' : `?order_id=${plan.orderId}`,
      generation: 0,
      request: undefined,
      marks: [{ at: opened, id: init.startId, seq: 0 }],
      total: 0,
    });
  }
  report.streams = streams.length;
  setInterval(everySecond, 1000).unref();
  setInterval(everyTenth, 100).unref();
  // A few at a time: thousands of connects at once would be a test of the accept queue.
  let next = 0;
  const opener = async () => {
    while (next < streams.length) {
      const i = next++;
      await new Promise<void>((resolve) => connect(streams[i]!, init.streams[i]!.api, resolve));
    }
  };
  await Promise.all(Array.from({ length: init.openConcurrency }, opener));
  send({ type: 'ready' });
}

/** After the flow: no more reconnects; waits until every stream has its scope's last event, or the deadline. */
async function drain(totals: { accounts: number[]; orders: number[][] }, deadline: number): Promise<void> {
  draining = true;
  for (const [i, stream] of streams.entries()) {
    const plan = init.streams[i]!;
    stream.total = plan.order === null ? totals.accounts[plan.account]! : totals.orders[plan.account]![plan.order]!;
  }
  const behind = () => streams.some((stream) => stream.check.lastSeq < stream.total);
  while (behind() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  everySecond();
  for (const stream of streams) {
    stream.generation++;
    stream.request?.destroy();
    const { check } = stream;
    report.received += check.received;
    report.delivered += Math.min(check.maxSeq, stream.total);
    report.expected += stream.total;
    if (check.lastSeq >= stream.total) report.complete++;
    else if (report.notes.length < 5) {
      report.notes.push(
        `incomplete: account ${check.account}${check.order === null ? '' : ` order ${check.order}`} at ${check.lastSeq} of ${stream.total}`,
      );
    }
    for (const kind of Object.keys(report.violations) as (keyof typeof report.violations)[])
      report.violations[kind] += check.violations[kind];
    if (report.notes.length < 5) report.notes.push(...check.notes.slice(0, 5 - report.notes.length));
  }
  send(report);
}

process.on('message', (message: ToRunner) => {
  if (message.type === 'init') void start(message);
  else if (message.type === 'flow') reconnecting = true;
  else if (message.type === 'drain') void drain(message.totals, message.deadline);
});
process.on('disconnect', () => process.exit(0));
