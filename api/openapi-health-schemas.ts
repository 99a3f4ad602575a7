import { z } from 'zod';

export const liveness = z.strictObject({ status: z.literal('ok') });

export const readiness = z
  .strictObject({
    status: z.enum(['ready', 'unready']),
    checks: z.record(
      z.string(),
      z.strictObject({
        status: z.enum(['pass', 'fail']),
        duration_ms: z.number().min(0).optional().meta({ description: 'On the management port only.' }),
        message: z.string().optional().meta({ description: 'On the management port only.' }),
      }),
    ),
  })
  .meta({
    description:
      "Each dependency check (database, migrations, temporal; shutdown while draining), bounded in time: pass or fail only. The management port (MANAGEMENT_PORT) answers the same with each check's duration and message.",
  });
