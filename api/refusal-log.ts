import type { Logger } from '../config/logger.js';

/** Answers a client can make the API send as fast as it sends requests: 401 and 429. */
const AGGREGATED_STATUSES = new Set([401, 429]);
/** Kinds of refusal tracked at once at most; method and route are labels already bounded, so this is a safety net. */
const MAX_KINDS = 1000;

/** The fields of a request line that make its kind of refusal. */
export interface RefusalLine {
  method: string;
  route: string;
  status: number;
  /** Why (api/auth.ts, api/rate-limit-middleware.ts, api/auth-failure-limiter.ts): missing, malformed, unknown or revoked key; account or auth_failures limit. */
  reason?: string;
}

export interface RefusalLog {
  /**
   * Whether the request's line is written at info: yes for any answer but 401 and 429, and for
   * the first refusal of its kind (status, method, route, reason); the others of a flood are
   * counted for the kind's next summary line (and may be written at debug).
   */
  admit(line: RefusalLine): boolean;
  /** Writes the summary lines of what was counted so far and forgets every kind (at shutdown; the timer writes them every interval). */
  close(): void;
}

interface Kind {
  line: RefusalLine;
  /** Refusals of the kind since its last line, not written at info. */
  suppressed: number;
}

/**
 * Request lines of refusals, aggregated: a flood of identical 401s or 429s (a client without a
 * key, one over its limit) writes the first one's line at once, then one summary line per kind
 * and interval with the count of the others (`refusals aggregated`, field `suppressed`). A kind
 * quiet for a whole interval is forgotten: its next refusal is written at once again. The
 * metrics count every request regardless (api/request-context.ts). The timer runs only while
 * some kind has refusals to report.
 */
export function createRefusalLog({ logger, intervalMs }: { logger: Logger; intervalMs: number }): RefusalLog {
  const kinds = new Map<string, Kind>();
  let timer: NodeJS.Timeout | undefined;

  const flush = () => {
    for (const [key, kind] of kinds) {
      if (kind.suppressed === 0) {
        kinds.delete(key);
        continue;
      }
      logger.info({ ...kind.line, suppressed: kind.suppressed, intervalMs }, 'refusals aggregated');
      kind.suppressed = 0;
    }
    if (kinds.size === 0 && timer !== undefined) {
      clearInterval(timer);
      timer = undefined;
    }
  };

  return {
    admit(line) {
      if (!AGGREGATED_STATUSES.has(line.status)) return true;
      const key = `${line.status} ${line.method} ${line.route} ${line.reason ?? ''}`;
      const kind = kinds.get(key);
      if (kind) {
        kind.suppressed += 1;
        return false;
      }
      if (kinds.size >= MAX_KINDS) return true;
      const { method, route, status, reason } = line;
      kinds.set(key, { line: reason === undefined ? { method, route, status } : { method, route, status, reason }, suppressed: 0 });
      if (timer === undefined) {
        timer = setInterval(flush, intervalMs);
        timer.unref();
      }
      return true;
    },
    close() {
      flush();
      kinds.clear();
      clearInterval(timer);
      timer = undefined;
    },
  };
}
