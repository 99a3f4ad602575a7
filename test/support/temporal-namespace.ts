import type { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import type { OrderActivities } from '../../activities/order-activities.js';
import { createPlacementAttempt } from '../../activities/placement-attempt.js';
import { waitFor } from './wait.js';

/** A namespace of its own on the suite's Temporal server, `<prefix>-<random>`, once the server knows it. */
export async function createNamespace(connection: Connection, prefix: string): Promise<string> {
  const namespace = `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
  await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
  await waitFor(
    () =>
      connection.workflowService.describeNamespace({ namespace }).then(
        () => true,
        () => undefined,
      ),
    30_000,
    `namespace ${namespace}`,
  );
  return namespace;
}

/** Fake activities of an order claimed and placed at once, never cancelled (its end comes from the test). */
const placedSteps = {
  claimOrder: async () => 'placing' as const,
  placeAtExchange: async () => ({ expiresAt: null }),
  markOrderPlaced: async () => undefined,
};
export const placedAtOnce: OrderActivities = {
  ...placedSteps,
  ...createPlacementAttempt(placedSteps),
  cancelAtExchange: async () => {
    throw new Error('never cancelled here');
  },
  amendAtExchange: async () => {
    throw new Error('never amended here');
  },
  markOrderCancelled: async () => {
    throw new Error('never cancelled here');
  },
};
