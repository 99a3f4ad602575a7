// PostgreSQL's CPU for one kind of client: the backends whose application_name is given (the
// API's event stream reads as 'api:events', api/server.ts), read from /proc while the run goes.
import type pg from 'pg';
import { cpuSeconds } from './proc.js';

export interface BackendCpu {
  /** Stops sampling; the CPU seconds those backends used since the start. */
  stop(): Promise<number>;
}

/**
 * Samples the backends every `everyMs`: one there at the start counts from its reading then, one
 * that appears later from its birth (all its CPU is in the window). A backend that comes and goes
 * between two samples is missed, and one that ends loses what it used since its last sample.
 */
export async function sampleBackends(pool: pg.Pool, applicationName: string, everyMs = 1000): Promise<BackendCpu> {
  const seen = new Map<number, { first: number; last: number }>();
  const sample = async (starting: boolean) => {
    const { rows } = await pool.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
    for (const { pid } of rows) {
      const cpu = cpuSeconds(pid);
      if (cpu === null) continue;
      const entry = seen.get(pid);
      if (entry) entry.last = cpu;
      else seen.set(pid, { first: starting ? cpu : 0, last: cpu });
    }
  };
  await sample(true);
  let sampling = Promise.resolve();
  const timer = setInterval(() => {
    sampling = sampling.then(() => sample(false)).catch(() => {});
  }, everyMs);
  return {
    async stop() {
      clearInterval(timer);
      await sampling;
      await sample(false);
      let total = 0;
      for (const { first, last } of seen.values()) total += last - first;
      return total;
    },
  };
}
