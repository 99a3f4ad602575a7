// The messages between the bench (bench/sse-fanout.ts) and its client runners
// (bench/sse-client-runner.ts), over the fork's IPC channel.
import type { Violations } from './sse-check.js';

export interface RunnerStream {
  account: number;
  /** The order's index within its account, and its id, for an order-scoped stream. */
  order: number | null;
  orderId: string | null;
  apiKey: string;
  /** The API it first connects to (an index into `apis`). */
  api: number;
}

export interface RunnerInit {
  type: 'init';
  apis: string[];
  streams: RunnerStream[];
  /** Every stream starts with this Last-Event-ID: the stream's end before the flow, so each gets its scope's events from the first. */
  startId: string;
  reconnectsPerStreamS: number;
  resumeAgeS: readonly [number, number];
  sampleEvery: number;
  /** Streams being opened at once. */
  openConcurrency: number;
}

export type ToRunner =
  | RunnerInit
  /** The flow started: reconnects from now on. */
  | { type: 'flow' }
  /** The flow ended: what each scope had (accounts' totals, orders' by account), and until when to wait for it (epoch ms). */
  | { type: 'drain'; totals: { accounts: number[]; orders: number[][] }; deadline: number };

export interface RunnerReport {
  type: 'report';
  streams: number;
  /** Connections answered 200, the first ones included. */
  opened: number;
  /** Reconnects the runner made (with an older Last-Event-ID), and connections the server ended (followed by a reconnect from the last id). */
  reconnects: number;
  serverEnds: number;
  /** Connections refused or failed before their answer (retried). */
  errors: number;
  firstError: string | undefined;
  /** How old each reconnect's Last-Event-ID was, in seconds (a stream younger than the age asked resumes from its start). */
  resumeAgesS: number[];
  /** Events received, repeats after a rewind included; distinct events of their scope received; what the scopes had. */
  received: number;
  delivered: number;
  expected: number;
  /** Streams that reached their scope's last event. */
  complete: number;
  violations: Violations;
  notes: string[];
}

export type ToParent =
  | { type: 'ready' }
  /** Sampled first-hand arrivals: exec numbers and when they arrived (epoch ms). */
  | { type: 'arrivals'; execs: number[]; ats: number[] }
  | RunnerReport;
