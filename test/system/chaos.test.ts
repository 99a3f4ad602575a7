import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChaosResult, type FaultName, runScenario } from '../support/chaos.js';
import { prepareWorkflowBundle, type Stack, startStack } from '../support/chaos-infra.js';

// "500 => never placed, 201 => placed exactly once" under single faults, against real processes:
// an embedded PostgreSQL, a Temporal dev server, the venue (scripted) and one ingestion process,
// two API and two worker processes, steady load
// over both APIs, one fault mid-load (test/support/chaos.ts). `npm run chaos` runs the same
// scenarios longer, and the kills as well. One system serves every scenario here (each counts only
// its own orders, and lets everything settle before the next); the APIs reach PostgreSQL through
// the wire-protocol proxy, which only interferes during the lost-answer scenario.
const RATE = 15;
const log = (line: string) => {
  if (process.env.CHAOS_LOG) process.stderr.write(`${line}\n`);
};

let stack: Stack;
let bundleDir: string;

beforeAll(async () => {
  bundleDir = await mkdtemp(path.join(os.tmpdir(), 'chaos-test-bundle-'));
  stack = await startStack({ log, proxy: true, workflowBundlePath: await prepareWorkflowBundle(bundleDir) });
}, 240_000);

afterAll(async () => {
  await stack?.stop();
  await rm(bundleDir, { recursive: true, force: true });
}, 60_000);

async function run(fault: FaultName, seconds: number, faultMs: number): Promise<ChaosResult> {
  const result = await runScenario(stack, { fault, seconds, rate: RATE, faultAtS: 2, faultMs, settleTimeoutMs: 150_000, log });
  // Shown with the failure: what happened when, and the requests behind a wrong figure.
  const context = [result.description, ...result.timeline, ...result.examples].join('\n');
  expect(result.settledAfterMs, context).not.toBeNull();
  expect({ ...figures(result) }, context).toEqual({ placedAfter500: 0, duplicates: 0, notPlaced201: 0, stuck: 0 });
  // Orders were accepted and placed around the fault: the system worked, the figures mean something.
  expect(result.status201, context).toBeGreaterThan(0);
  expect(result.placed, context).toBeGreaterThanOrEqual(result.status201);
  // Market orders: the venue filled every placed one and ingest brought it to `filled` (the
  // order's life goes on past placement; nothing is left working at the venue).
  expect({ filled: result.filled, working: result.working }, context).toEqual({ filled: result.placed, working: 0 });
  return result;
}

function figures(result: ChaosResult) {
  return {
    placedAfter500: result.placedAfter500,
    duplicates: result.duplicates,
    notPlaced201: result.notPlaced201,
    stuck: result.stuck,
  };
}

describe('single faults under steady load: no 500 is ever placed, every 201 is placed once, nothing is left unfinished', () => {
  it('PostgreSQL frozen (SIGSTOP of the postmaster and all its children) for longer than every client timeout and the order budget', {
    timeout: 240_000,
  }, async () => {
    const result = await run('pg-freeze', 19, 15_000);
    // The freeze was felt: requests that came in during it could not be confirmed.
    expect(result.status500 + Object.values(result.otherStatuses).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });

  it('Temporal frozen (SIGSTOP of the dev server) for longer than the order budget', { timeout: 240_000 }, async () => {
    const result = await run('temporal-freeze', 18, 14_000);
    expect(result.status500).toBeGreaterThan(0);
  });

  it('answers of committed order writes lost with their connection (INSERT, UPDATE to accepted or rejected, COMMIT)', {
    timeout: 240_000,
  }, async () => {
    const lostBefore = stack.proxy!.lost.length;
    await run('lost-commit-ack', 10, 6_000);
    // The proxy did lose answers of statements that completed in PostgreSQL.
    const lost = stack.proxy!.lost.slice(lostBefore);
    expect(lost.filter((answer) => answer.completedAt !== null).length).toBeGreaterThan(0);
  });

  it('an API process SIGKILLed mid-load and started again', { timeout: 240_000 }, async () => {
    const result = await run('api-kill', 10, 0);
    expect(result.unexpectedExits).toEqual([]);
  });
});
