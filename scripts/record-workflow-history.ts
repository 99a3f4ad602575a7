/**
 * Records the history that test/unit/order-workflow.replay.test.ts replays:
 *
 *   npx tsx scripts/record-workflow-history.ts [--failed-attempts N] [--amend] [output.json]
 *
 * Runs one placeOrderWorkflow on the time-skipping test server (the Java one installed by
 * `npm run setup:test`), started as the API starts it (its search attributes with the start), with
 * fake activities: the order is claimed, the exchange fails
 * twice with OrderPlacementError (the first time in the three steps' one local attempt) and then
 * accepts it, the order is marked placed, and the venue's
 * terminal event (filled) is relayed to it as the ingestion process does. Re-record after
 * a deliberate, versioned change of the workflow; a failing replay test is the point otherwise.
 * With --amend, the placed order is amended twice before its end (the amendOrder Update): the
 * venue replaces it (quantity 20, gtc), then refuses a quantity not above its 12 filled.
 */
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { History } from '@temporalio/common/lib/proto-utils.js';
import proto from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import type { OrderActivities } from '../activities/order-activities.js';
import { createPlacementAttempt, type PlacementSteps } from '../activities/placement-attempt.js';
import { createPlacementStarter } from '../api/placement-client.js';
import { type OrderTicket, workflowIdFor } from '../domain/order.js';
import { OrderPlacementError } from '../exchange/exchange.js';
import { amendOrderUpdate, orderStatusQuery, orderTerminalSignal } from '../temporal/messages.js';
import { registerSearchAttributes } from '../temporal/search-attribute-registration.js';
import type { placeOrderWorkflow } from '../workflows/order-workflow.js';
import { WORKFLOWS_PATH } from '../workflows/path.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const TEST_SERVER = path.join(root, 'scripts/temporal-test-server/run.sh');
const { values: options, positionals } = parseArgs({
  allowPositionals: true,
  options: { 'failed-attempts': { type: 'string', default: '2' }, amend: { type: 'boolean', default: false } },
});
const output = path.resolve(positionals[0] ?? path.join(root, 'test/fixtures/place-order-workflow.placement-in-one-attempt.history.json'));

/** How many exchange calls fail before one succeeds (0: a healthy order, placed in one workflow task). */
const FAILED_EXCHANGE_ATTEMPTS = Number(options['failed-attempts']);
if (!Number.isInteger(FAILED_EXCHANGE_ATTEMPTS) || FAILED_EXCHANGE_ATTEMPTS < 0)
  throw new Error('--failed-attempts must be an integer >= 0');
const START_BUDGET_MS = 30_000;

/**
 * historyToJSON from @temporalio/common/lib/proto-utils, which throws "type must be a Type" in
 * this install: npm gave @temporalio/common and @temporalio/proto separate copies of protobufjs 8
 * (the top-level protobufjs is 7, for @grpc/proto-loader), and protojson checks `instanceof Type`.
 * Same conversion, with the protojson of the copy that built the History type.
 */
function historyToJSON(history: History): string {
  const protoRequire = createRequire(createRequire(import.meta.url).resolve('@temporalio/proto'));
  const protojson = protoRequire('protobufjs/ext/protojson') as { toJson(type: unknown, message: unknown): unknown };
  const type = proto.temporal.api.history.v1.History;
  return JSON.stringify(protojson.toJson(type, type.fromObject(history)), null, 2);
}

const ticket: OrderTicket = {
  id: '5f0c6a3e-2b7d-4c1a-9e8f-0a1b2c3d4e5f',
  type: 'limit',
  side: 'buy',
  instrument: 'US0378331005',
  limitPrice: '187.25',
  quantity: 10,
  timeInForce: 'day',
  createdAt: '2026-01-05T09:30:00.000Z',
};

let exchangeAttempts = 0;
const steps: PlacementSteps = {
  async claimOrder() {
    return 'placing';
  },
  async placeAtExchange() {
    exchangeAttempts += 1;
    if (exchangeAttempts <= FAILED_EXCHANGE_ATTEMPTS) throw new OrderPlacementError();
    return { expiresAt: null };
  },
  async markOrderPlaced() {
    // The venue fills it; the ingestion process relays the terminal event once committed.
    if (!options.amend) setImmediate(() => void relayTerminal());
  },
};
let amendCalls = 0;
const activities: OrderActivities = {
  ...steps,
  // The three steps as one local attempt, as the worker's is: the same functions in turn.
  ...createPlacementAttempt(steps),
  async cancelAtExchange() {
    throw new Error('the recorded run is never cancelled');
  },
  async markOrderCancelled() {
    throw new Error('the recorded run is never cancelled');
  },
  async amendAtExchange(_orderId, changes) {
    amendCalls += 1;
    if (amendCalls === 1) {
      return {
        outcome: 'replaced',
        reason: null,
        status: 'partially_filled',
        cumQty: 4,
        quantity: changes.quantity ?? 10,
        limitPrice: '187.2500',
        timeInForce: changes.timeInForce ?? 'day',
        expiresAt: null,
      };
    }
    return {
      outcome: 'refused',
      reason: 'quantity_not_above_filled',
      status: 'partially_filled',
      cumQty: 12,
      quantity: 20,
      limitPrice: '187.2500',
      timeInForce: 'gtc',
      expiresAt: null,
    };
  },
};

/** The signal as the ingestion process sends it. */
async function relayTerminal(): Promise<void> {
  await env.client.workflow.getHandle(workflowIdFor(ticket.id)).signal(orderTerminalSignal, { status: 'filled', filledQuantity: 10 });
}

// The expected activity failures would otherwise be logged as warnings with stack traces.
Runtime.install({ logger: new DefaultLogger('ERROR') });

const env = await TestWorkflowEnvironment.createTimeSkipping({
  server: { executable: { type: 'existing-path', path: TEST_SERVER } },
});
await registerSearchAttributes(env.connection, 'default');
try {
  const taskQueue = `record-history-${Math.random().toString(36).slice(2, 10)}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    workflowsPath: WORKFLOWS_PATH,
    activities,
  });
  const workflowId = workflowIdFor(ticket.id);
  const result = await worker.runUntil(async () => {
    await createPlacementStarter(env.client, taskQueue, 1).start(ticket, Date.now() + START_BUDGET_MS);
    const handle = env.client.workflow.getHandle<typeof placeOrderWorkflow>(workflowId);
    if (options.amend) {
      while ((await handle.query(orderStatusQuery)) !== 'placed') await new Promise((resolve) => setTimeout(resolve, 50));
      const first = await handle.executeUpdate(amendOrderUpdate, { args: [{ quantity: 20, timeInForce: 'gtc' }], updateId: 'amend-1' });
      const second = await handle.executeUpdate(amendOrderUpdate, { args: [{ quantity: 12 }], updateId: 'amend-2' });
      if (first.outcome !== 'amended' || second.outcome !== 'refused')
        throw new Error(`Unexpected amends: ${JSON.stringify([first, second])}`);
      await relayTerminal();
    }
    return handle.result();
  });
  if (result.status !== 'filled' || exchangeAttempts !== FAILED_EXCHANGE_ATTEMPTS + 1) {
    throw new Error(`Unexpected run: ${JSON.stringify(result)} after ${exchangeAttempts} exchange attempts`);
  }
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  await writeFile(output, `${historyToJSON(history)}\n`);
  console.log(`Wrote ${history.events?.length ?? 0} events of ${workflowId} to ${path.relative(process.cwd(), output)}`);
} finally {
  await env.teardown();
}
