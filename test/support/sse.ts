import { createParser } from 'eventsource-parser';
import { assertInContract, validatorAt } from './openapi-contract.js';
import { waitFor } from './wait.js';

/** One event of GET /events as a client receives it. */
export interface ReceivedEvent {
  id: string;
  event: string | undefined;
  // biome-ignore lint/suspicious/noExplicitAny: the event's data, checked by the tests
  data: any;
  /** The data as sent, for tests of its exact text. */
  raw: string;
}

export interface EventStream {
  readonly headers: Headers;
  readonly events: ReceivedEvent[];
  /** Comment lines received (the heartbeats). */
  readonly comments: number;
  /** Events whose data is not the document's OrderStreamEvent, with why. */
  readonly problems: string[];
  /** Resolves when the stream ends, by the server or by close(); `byServer` tells which. */
  readonly ended: Promise<{ byServer: boolean }>;
  close(): void;
  /** Waits until `probe(events)` holds. */
  until(probe: (events: ReceivedEvent[]) => boolean, what: string, timeoutMs?: number): Promise<void>;
}

const eventData = () => validatorAt(['components', 'schemas', 'OrderStreamEvent']);

/**
 * Opens GET /events (the answer checked against the OpenAPI document: status, headers, media
 * type; each event's data against OrderStreamEvent) and collects its events until closed.
 * Throws if the answer is not the stream (use test/support/http.ts `request` for error answers).
 */
export async function openEventStream(url: string, headers: Record<string, string> = {}): Promise<EventStream> {
  const abort = new AbortController();
  const response = await fetch(url, { headers, signal: abort.signal });
  const text = response.status === 200 ? '' : await response.text();
  assertInContract({ method: 'GET', url, status: response.status, headers: response.headers, text, body: undefined });
  if (response.status !== 200 || !response.body) throw new Error(`GET ${url} answered ${response.status}: ${text}`);

  const events: ReceivedEvent[] = [];
  const problems: string[] = [];
  let comments = 0;
  let closedByClient = false;
  const parser = createParser({
    onEvent(message) {
      let data: unknown;
      try {
        data = JSON.parse(message.data);
      } catch {
        problems.push(`event ${message.id}: data is not JSON: ${message.data.slice(0, 200)}`);
      }
      const validate = eventData();
      if (!validate(data)) problems.push(`event ${message.id}: ${JSON.stringify(validate.errors)}`);
      events.push({ id: message.id ?? '', event: message.event, data, raw: message.data });
    },
    onComment() {
      comments++;
    },
  });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const ended = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parser.feed(value);
      }
    } catch {
      // aborted by close(), or the connection was cut
    }
    return { byServer: !closedByClient };
  })();

  return {
    headers: response.headers,
    events,
    get comments() {
      return comments;
    },
    problems,
    ended,
    close() {
      closedByClient = true;
      abort.abort();
    },
    async until(probe, what, timeoutMs = 30_000) {
      await waitFor(async () => (probe(events) ? true : undefined), timeoutMs, what);
    },
  };
}
