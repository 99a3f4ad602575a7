import { setTimeout as sleep } from 'node:timers/promises';
import type { IngestStack } from './ingest-stack.js';

/**
 * What the venue's load mode actually made, as opposed to what it was offered: samples the
 * venue's count of partial fills (GET /control/stats) a few times a second and adds up the
 * fills made between two samples while a load was streaming. A venue restart starts its count
 * at 0 again, and the time it is down counts as no interval at all, so the rate is that of a
 * running venue with a load. (The load makes what is due by the clock: a venue that falls
 * behind catches up at once, so this is below the offer only when the venue cannot keep up.)
 */
export interface VenueRateMeter {
  stop(): Promise<{ fills: number; seconds: number; perSecond: number }>;
}

const SAMPLE_MS = 250;

export function meterVenueRate(s: IngestStack): VenueRateMeter {
  let running = true;
  let fills = 0;
  let seconds = 0;
  const sampler = (async () => {
    let previous: { at: number; fills: number; loading: boolean } | undefined;
    while (running) {
      try {
        const stats = (await s.control('/control/stats')).body as { loads_running: number; reports_made: Record<string, number> };
        const sample = { at: performance.now(), fills: stats.reports_made.partial_fill ?? 0, loading: stats.loads_running > 0 };
        if (previous?.loading) {
          fills += sample.fills >= previous.fills ? sample.fills - previous.fills : sample.fills;
          seconds += (sample.at - previous.at) / 1000;
        }
        previous = sample;
      } catch {
        // The venue is down (restarting) or frozen: no interval across it.
        previous = undefined;
      }
      await sleep(SAMPLE_MS);
    }
  })();
  return {
    async stop() {
      running = false;
      await sampler;
      return { fills, seconds, perSecond: seconds > 0 ? Math.round(fills / seconds) : 0 };
    },
  };
}
