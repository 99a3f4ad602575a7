// The two modes of `npm run bench`: the full run and a quick look (`--short`).

export interface Profile {
  name: 'full' | 'short';
  /** Concurrency of every closed-loop measurement (POST /orders and the three limits). */
  connections: number;
  warmupS: number;
  durationS: number;
  /** Orders accepted at once for the placement runs. */
  burstOrders: number;
  /** Steady arrival rate (orders/s), how long lag is measured over, and how long the run lasts (memory). */
  steadyRate: number;
  lagWindowS: number;
  steadyRunS: number;
  steadyConnections: number;
  /** How long to wait for a backlog to be placed before giving up (and saying so). */
  burstWaitS: number;
  /** How long to wait after the steady run for its last orders to be placed. */
  steadyDrainS: number;
  /** POST /orders sent at one moment, one per connection (the spike); once to each number of API processes listed. */
  spikeRequests: number;
  spikeApis: (1 | 2)[];
  /** How long to wait after a spike for its orders to be placed before going on (and saying so). */
  spikeDrainS: number;
  /** RSS is sampled this often; start and end are medians of the first and last rssWindowS after rssSettleS. */
  rssSampleS: number;
  rssSettleS: number;
  rssWindowS: number;
  /** The sustained-rate search: arrival rates probed (from, step, up to), each for probeS, then the best held for confirmS (0: not confirmed). */
  sustained: { fromRate: number; step: number; toRate: number; probeS: number; confirmS: number };
  /**
   * CPU per order (bench/cost.ts): each process's idle CPU measured for idleS before and after; then `rate`
   * orders/s for `seconds` through the API; at most waitS for them all to end.
   */
  cost: { rate: number; seconds: number; idleS: number; waitS: number };
}

export const PROFILES: Record<Profile['name'], Profile> = {
  full: {
    name: 'full',
    connections: 64,
    warmupS: 5,
    durationS: 30,
    burstOrders: 5000,
    steadyRate: 100,
    lagWindowS: 60,
    steadyRunS: 600,
    steadyConnections: 64,
    burstWaitS: 1800,
    steadyDrainS: 120,
    spikeRequests: 500,
    spikeApis: [1, 2],
    spikeDrainS: 300,
    rssSampleS: 5,
    rssSettleS: 30,
    rssWindowS: 60,
    sustained: { fromRate: 10, step: 5, toRate: 150, probeS: 30, confirmS: 300 },
    cost: { rate: 20, seconds: 30, idleS: 10, waitS: 300 },
  },
  short: {
    name: 'short',
    connections: 16,
    warmupS: 1,
    durationS: 5,
    burstOrders: 200,
    steadyRate: 50,
    lagWindowS: 10,
    steadyRunS: 10,
    steadyConnections: 32,
    burstWaitS: 10,
    steadyDrainS: 5,
    spikeRequests: 500,
    // One API and no wait for the placements: a burst and its answers, within the 2 minutes.
    spikeApis: [1],
    spikeDrainS: 0,
    rssSampleS: 1,
    rssSettleS: 3,
    rssWindowS: 3,
    sustained: { fromRate: 40, step: 20, toRate: 60, probeS: 5, confirmS: 0 },
    cost: { rate: 20, seconds: 10, idleS: 5, waitS: 120 },
  },
};
