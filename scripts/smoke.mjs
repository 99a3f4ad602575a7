#!/usr/bin/env node
// The smoke test of a running deployment (`npm start`, the production entry points, the Compose
// stack): `npm run --silent smoke -- [BASE_URL] [options]`, or `node scripts/smoke.mjs …` where
// there is no checkout (plain Node ≥ 20, no dependencies). What a first user does, step by step:
//   1. the API at BASE_URL answers 200 at /health/ready;
//   2. an API key is made with the keys command (`<keys command> create --account NAME --json`),
//      unless SMOKE_API_KEY gives one;
//   3. the management port's /metrics is read (the count of created orders, before);
//   4. GET /events is opened with the key (this account's events, from now on);
//   5. a market order is placed (POST /orders → 201);
//   6. GET /orders/:id until it is `filled`;
//   7. GET /orders/:id/executions: its fills add up to the order's quantity;
//   8. the stream of step 4 carries the order's fills and its `filled`; GET /events resumed with
//      Last-Event-ID after the order's first event carries the same events again;
//   9. /metrics again: orders_created_total went up (summed over every management URL given).
// Exit code 0: every step passed; 1: a step failed (named on stderr, with what was seen); 2: usage.
// Options (or their environment variables):
//   BASE_URL                  the public API (SMOKE_BASE_URL; default http://localhost:3000)
//   --management-url URL[,…]  the API's management port, one URL per API process (SMOKE_MANAGEMENT_URL;
//                             default BASE_URL's host on port 9463, MANAGEMENT_PORT's default)
//   --keys-command CMD        a shell command running the keys command, to which
//                             `create --account NAME --json` is appended (SMOKE_KEYS_COMMAND;
//                             default `npm run --silent keys --`, which uses DATABASE_URL, or the
//                             embedded PostgreSQL of a running `npm start`)
//   --account NAME            the account the key is made for (default smoke-<time>-<random>)
//   --timeout SECONDS         the bound on the whole run (SMOKE_TIMEOUT_SECONDS; default 300)
//   SMOKE_API_KEY             an existing key to use instead of making one (environment only: not on a command line)
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

const USAGE = `usage: npm run --silent smoke -- [BASE_URL] [--management-url URL[,URL…]] [--keys-command CMD] [--account NAME] [--timeout SECONDS]
       (or node scripts/smoke.mjs …; SMOKE_API_KEY=<key> uses that key instead of making one)`;
const MANAGEMENT_PORT_DEFAULT = 9463;
const INSTRUMENT = 'US0378331005';
const QUANTITY = 10;
const FILL_TYPES = new Set(['partial_fill', 'fill']);
const FINAL_STATUSES = new Set(['filled', 'rejected', 'cancelled', 'expired']);
/** One HTTP request's bound (the API bounds a POST at 10 s by default). */
const REQUEST_TIMEOUT_MS = 30_000;
/** Polls of GET /orders/:id: twice a second stays far below the default rate limit (200 a minute). */
const POLL_INTERVAL_MS = 500;

class StepFailed extends Error {}

function say(text) {
  process.stdout.write(`smoke: ${text}\n`);
}

function fail(message) {
  throw new StepFailed(message);
}

function options() {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    options: {
      'management-url': { type: 'string' },
      'keys-command': { type: 'string' },
      account: { type: 'string' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (positionals.length > 1) throw new TypeError(`one BASE_URL at most, got ${positionals.length} arguments`);
  const baseUrl = new URL(positionals[0] ?? process.env.SMOKE_BASE_URL ?? 'http://localhost:3000');
  const base = baseUrl.href.replace(/\/+$/, '');
  const management = values['management-url'] ?? process.env.SMOKE_MANAGEMENT_URL;
  const managementUrls = management
    ? management
        .split(',')
        .map((url) => url.trim())
        .filter((url) => url !== '')
        .map((url) => new URL(url).href.replace(/\/+$/, ''))
    : [`${baseUrl.protocol}//${baseUrl.hostname.includes(':') ? `[${baseUrl.hostname}]` : baseUrl.hostname}:${MANAGEMENT_PORT_DEFAULT}`];
  if (managementUrls.length === 0) throw new TypeError('--management-url names no URL');
  const timeoutText = values.timeout ?? process.env.SMOKE_TIMEOUT_SECONDS ?? '300';
  const timeoutSeconds = Number(timeoutText);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0)
    throw new TypeError(`--timeout must be a positive number of seconds, got ${timeoutText}`);
  const account = values.account ?? `smoke-${Date.now()}-${randomBytes(3).toString('hex')}`;
  if (!/^[A-Za-z0-9._@-]{1,100}$/.test(account)) throw new TypeError('--account must be 1-100 letters, digits, ".", "_", "-" or "@"');
  return {
    base,
    managementUrls,
    keysCommand: values['keys-command'] ?? process.env.SMOKE_KEYS_COMMAND ?? 'npm run --silent keys --',
    account,
    apiKey: process.env.SMOKE_API_KEY || undefined,
    deadline: Date.now() + timeoutSeconds * 1000,
    timeoutSeconds,
  };
}

let settings;
let step = 'start';
const remainingMs = () => settings.deadline - Date.now();

/** The step's bound: its own, or what is left of the whole run's. */
const boundMs = (ms) => Math.max(1, Math.min(ms, remainingMs()));

async function http(method, url, { headers = {}, body, timeoutMs = REQUEST_TIMEOUT_MS } = {}) {
  let response;
  try {
    response = await fetch(url, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(boundMs(timeoutMs)),
    });
  } catch (error) {
    fail(
      `${method} ${url}: ${error instanceof Error ? `${error.message}${error.cause ? ` (${error.cause.message ?? error.cause})` : ''}` : error}`,
    );
  }
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** Repeats `probe` until it returns a value, for at most `ms` (and within the run's bound). */
async function until(what, ms, probe) {
  const bound = boundMs(ms);
  const stop = Date.now() + bound;
  let last = 'nothing yet';
  while (Date.now() < stop) {
    const outcome = await probe();
    if (outcome.done) return outcome.value;
    last = outcome.seen ?? last;
    await sleep(outcome.waitMs ?? POLL_INTERVAL_MS);
  }
  fail(`${what} not within ${Math.round(bound / 1000)} s (last seen: ${last})`);
}

/** A 429's Retry-After, bounded: the run's limits stay far below the API's, but a shared account may hit them. */
const retryAfterMs = (response) => Math.min(10_000, Math.max(POLL_INTERVAL_MS, Number(response.headers.get('retry-after') ?? 1) * 1000));

// --- the steps ------------------------------------------------------------------------------------

async function waitForReady() {
  await until(`${settings.base}/health/ready answering 200`, 120_000, async () => {
    try {
      const response = await http('GET', `${settings.base}/health/ready`, { timeoutMs: 5000 });
      return response.status === 200 ? { done: true } : { seen: `${response.status} ${response.text.slice(0, 300)}` };
    } catch (error) {
      return { seen: error.message };
    }
  });
}

/** Runs the keys command; its JSON answer is the last line of its stdout that parses. */
function createKey() {
  const command = `${settings.keysCommand} create --account ${settings.account} --json`;
  return new Promise((resolve, reject) => {
    const child = spawn(command, { shell: true, stdio: ['ignore', 'pipe', 'pipe'], detached: process.platform !== 'win32' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, boundMs(180_000));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new StepFailed(`\`${command}\` could not run: ${error.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const seen = `\n--- its stdout:\n${stdout.slice(-2000)}\n--- its stderr:\n${stderr.slice(-2000)}`;
      if (code !== 0) {
        reject(new StepFailed(`\`${command}\` exited with ${code ?? signal}${signal === 'SIGKILL' ? ' (timed out)' : ''}${seen}`));
        return;
      }
      for (const line of stdout.trim().split('\n').reverse()) {
        try {
          const created = JSON.parse(line);
          if (typeof created?.api_key === 'string') {
            resolve(created);
            return;
          }
        } catch {
          // not the answer's line
        }
      }
      reject(new StepFailed(`\`${command}\` printed no {"api_key": …} line${seen}`));
    });
  });
}

/** orders_created_total summed over every management URL (each API process counts its own). */
async function ordersCreated() {
  let sum = 0;
  for (const url of settings.managementUrls) {
    const response = await http('GET', `${url}/metrics`, { timeoutMs: 10_000 });
    if (response.status !== 200) fail(`GET ${url}/metrics answered ${response.status}: ${response.text.slice(0, 300)}`);
    const line = response.text.split('\n').find((text) => /^orders_created_total(\{[^}]*\})? /.test(text));
    if (!line) fail(`GET ${url}/metrics has no orders_created_total series`);
    if (!/^http_requests_total\{/m.test(response.text)) fail(`GET ${url}/metrics has no http_requests_total series`);
    sum += Number(line.split(' ').at(-1));
  }
  return sum;
}

/**
 * GET /events as a client reads it: frames collected as they come (comments, the heartbeats,
 * skipped); `until(probe)` waits for what the test needs; `close()` ends it.
 */
async function openEventStream(url, headers) {
  const abort = new AbortController();
  const opened = setTimeout(() => abort.abort(), boundMs(REQUEST_TIMEOUT_MS));
  let response;
  try {
    response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  } catch (error) {
    fail(`GET ${url}: ${error.message}`);
  } finally {
    clearTimeout(opened);
  }
  if (response.status !== 200) fail(`GET ${url} answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
  const type = response.headers.get('content-type') ?? '';
  if (!type.startsWith('text/event-stream')) fail(`GET ${url} answered ${type}, not text/event-stream`);

  const events = [];
  let ended;
  let wake = () => {};
  const reading = (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body) {
        buffer += decoder.decode(chunk, { stream: true });
        // Line ends: \n, \r\n or \r (a \r at the very end may be the first half of a \r\n).
        const complete = buffer.endsWith('\r') ? buffer.slice(0, -1) : buffer;
        const normalized = complete.replace(/\r\n?/g, '\n');
        const frames = normalized.split('\n\n');
        buffer = frames.pop() + (buffer.endsWith('\r') ? '\r' : '');
        for (const frame of frames) {
          const event = { id: undefined, event: 'message', data: [] };
          for (const line of frame.split('\n')) {
            if (line === '' || line.startsWith(':')) continue;
            const colon = line.indexOf(':');
            const field = colon === -1 ? line : line.slice(0, colon);
            const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'id') event.id = value;
            else if (field === 'event') event.event = value;
            else if (field === 'data') event.data.push(value);
          }
          if (event.data.length === 0) continue;
          let data;
          try {
            data = JSON.parse(event.data.join('\n'));
          } catch {
            data = event.data.join('\n');
          }
          events.push({ id: event.id, event: event.event, data });
        }
        wake();
      }
      ended = 'the server ended the stream';
    } catch (error) {
      ended = abort.signal.aborted ? 'closed' : `the stream failed: ${error.message}`;
    }
    wake();
  })();
  return {
    events,
    async until(what, ms, probe) {
      const bound = boundMs(ms);
      const stop = Date.now() + bound;
      for (;;) {
        if (probe(events)) return;
        if (ended) fail(`${what}: ${ended} first (events received: ${describe(events)})`);
        const left = stop - Date.now();
        if (left <= 0) fail(`${what} not within ${Math.round(bound / 1000)} s (events received: ${describe(events)})`);
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    },
    async close() {
      abort.abort();
      await reading;
    },
  };
}

const describe = (events) =>
  events.length === 0
    ? 'none'
    : events
        .map((event) => `${event.id} ${event.event}${event.data?.order?.status ? ` ${event.data.order.status}` : ''}`)
        .join(', ')
        .slice(0, 2000);

const isFilledEvent = (orderId) => (event) =>
  event.event === 'status' && event.data?.order_id === orderId && event.data?.order?.status === 'filled';

async function main() {
  settings = options();
  const overall = setTimeout(() => {
    process.stderr.write(`smoke: FAILED at "${step}": the whole run took longer than ${settings.timeoutSeconds} s\n`);
    process.exit(1);
  }, settings.timeoutSeconds * 1000);
  say(`${settings.base} (management: ${settings.managementUrls.join(', ')})`);

  step = 'API ready';
  await waitForReady();
  say(`${step}: GET /health/ready 200`);

  step = 'API key';
  let apiKey = settings.apiKey;
  if (apiKey) {
    say(`${step}: SMOKE_API_KEY`);
  } else {
    const created = await createKey();
    apiKey = created.api_key;
    say(`${step}: made with \`${settings.keysCommand} create --account ${settings.account} --json\` (key id ${created.key_id})`);
  }
  const auth = { Authorization: `Bearer ${apiKey}` };

  step = 'metrics before';
  const createdBefore = await ordersCreated();
  say(`${step}: orders_created_total ${createdBefore}`);

  step = 'event stream opened';
  const live = await openEventStream(`${settings.base}/events`, auth);
  say(`${step}: GET /events 200 text/event-stream`);

  try {
    step = 'order placed';
    const order = { type: 'market', side: 'buy', instrument: INSTRUMENT, quantity: QUANTITY };
    const posted = await http('POST', `${settings.base}/orders`, { headers: auth, body: order });
    if (posted.status !== 201 || typeof posted.json?.id !== 'string') {
      fail(`POST /orders answered ${posted.status} (201 expected): ${posted.text.slice(0, 500)}`);
    }
    const id = posted.json.id;
    say(`${step}: POST /orders 201, order ${id} (${posted.json.status})`);

    step = 'order filled';
    const filled = await until(`order ${id} filled`, 180_000, async () => {
      const response = await http('GET', `${settings.base}/orders/${id}`, { headers: auth });
      if (response.status === 429) return { seen: '429', waitMs: retryAfterMs(response) };
      if (response.status !== 200) fail(`GET /orders/${id} answered ${response.status}: ${response.text.slice(0, 500)}`);
      const { status } = response.json;
      if (status === 'filled') return { done: true, value: response.json };
      if (FINAL_STATUSES.has(status)) fail(`order ${id} ended ${status}, not filled: ${response.text.slice(0, 500)}`);
      return { seen: `status ${status}` };
    });
    if (filled.filled_quantity !== QUANTITY) fail(`order ${id} is filled with filled_quantity ${filled.filled_quantity}, not ${QUANTITY}`);
    say(`${step}: GET /orders/${id} status filled, ${filled.filled_quantity} at ${filled.average_fill_price}`);

    step = 'executions';
    const executions = await until(`GET /orders/${id}/executions`, 30_000, async () => {
      const response = await http('GET', `${settings.base}/orders/${id}/executions?limit=100`, { headers: auth });
      if (response.status === 429) return { seen: '429', waitMs: retryAfterMs(response) };
      if (response.status !== 200) fail(`GET /orders/${id}/executions answered ${response.status}: ${response.text.slice(0, 500)}`);
      return { done: true, value: response.json.data };
    });
    const fills = executions.filter((execution) => FILL_TYPES.has(execution.exec_type));
    const filledQuantity = fills.reduce((sum, execution) => sum + execution.quantity, 0);
    if (
      fills.length === 0 ||
      filledQuantity !== QUANTITY ||
      fills.at(-1).cum_quantity !== QUANTITY ||
      fills.at(-1).order_status !== 'filled'
    ) {
      fail(`the executions of order ${id} do not fill it (${QUANTITY}): ${JSON.stringify(executions).slice(0, 1000)}`);
    }
    say(`${step}: ${fills.length} fill(s) adding up to ${filledQuantity}`);

    step = 'event stream';
    await live.until(`the order's filled event on GET /events`, 30_000, (events) => events.some(isFilledEvent(id)));
    const ours = live.events.filter((event) => event.data?.order_id === id);
    const last = ours.findIndex(isFilledEvent(id));
    const seen = ours.slice(0, last + 1);
    const streamedFills = seen.filter((event) => event.event === 'fill');
    const streamedQuantity = streamedFills.reduce((sum, event) => sum + event.data.execution.quantity, 0);
    if (streamedQuantity !== QUANTITY) fail(`GET /events carried fills of ${streamedQuantity}, not ${QUANTITY}: ${describe(seen)}`);
    // A key of its own: its account has no other order, and the stream shows no one else's.
    if (!settings.apiKey && live.events.some((event) => event.data?.order_id !== id)) {
      fail(`GET /events carried another order's event: ${describe(live.events)}`);
    }
    say(`${step}: ${seen.length} events of the order (${streamedFills.length} fill(s), then filled)`);

    step = 'event stream resumed';
    const first = seen[0];
    const resumed = await openEventStream(`${settings.base}/events?order_id=${id}`, { ...auth, 'Last-Event-ID': first.id });
    try {
      await resumed.until(`the events after ${first.id} again, with Last-Event-ID`, 30_000, (events) => events.some(isFilledEvent(id)));
    } finally {
      await resumed.close();
    }
    const again = resumed.events.slice(0, resumed.events.findIndex(isFilledEvent(id)) + 1).map((event) => event.id);
    const expected = seen.slice(1).map((event) => event.id);
    if (again.join() !== expected.join()) fail(`resumed after ${first.id}: ${again.join(', ')}; live: ${expected.join(', ')}`);
    say(`${step}: Last-Event-ID ${first.id} → the ${again.length} events after it`);
  } finally {
    await live.close();
  }

  step = 'metrics after';
  const createdAfter = await ordersCreated();
  if (createdAfter < createdBefore + 1) fail(`orders_created_total ${createdAfter}, before the order ${createdBefore}`);
  say(`${step}: orders_created_total ${createdAfter}`);

  clearTimeout(overall);
  say('passed');
}

main().then(
  () => process.exit(0),
  (error) => {
    if (settings === undefined) {
      process.stderr.write(`smoke: ${error instanceof Error ? error.message : error}\n${USAGE}\n`);
      process.exit(2);
    }
    process.stderr.write(`smoke: FAILED at "${step}": ${error instanceof StepFailed ? error.message : (error?.stack ?? error)}\n`);
    process.exit(1);
  },
);
