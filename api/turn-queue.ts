import PQueue from 'p-queue';

/**
 * At most `concurrency` tasks at once; the others wait their turn in arrival order, each only
 * until its own `turnBy` (epoch ms). A task whose turn has not come by then is dropped, never
 * run. One that has started always runs to its end and counts, whenever that is.
 */
export interface TurnQueue {
  run<T>(turnBy: number, task: () => Promise<T>): Promise<T>;
}

export function createTurnQueue(concurrency: number): TurnQueue {
  const queue = new PQueue({ concurrency });
  return {
    async run<T>(turnBy: number, task: () => Promise<T>): Promise<T> {
      let running: Promise<T> | undefined;
      try {
        await queue.add(
          () => {
            // p-queue may hand out a turn exactly as the wait ends: too late is too late.
            if (Date.now() > turnBy) throw new TurnMissedError();
            running = task();
            return running;
          },
          { signal: AbortSignal.timeout(Math.max(0, turnBy - Date.now())) },
        );
      } catch (error) {
        if (!running) throw error instanceof TurnMissedError ? error : new TurnMissedError({ cause: error });
      }
      // Started: its own outcome, even if the wait's deadline passed while it ran.
      return running as Promise<T>;
    },
  };
}

/** A task that waited for its turn until its deadline and was never run. */
export class TurnMissedError extends Error {
  override readonly name = 'TurnMissedError';
  constructor(options?: ErrorOptions) {
    super('Waited for a turn until the deadline', options);
  }
}
