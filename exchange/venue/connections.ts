import net from 'node:net';
import type { Logger } from 'pino';
import { onLines, parseLine } from '../lines.js';
import { type ClientMessage, clientMessage, encodeLine, MAX_LINE_BYTES, type VenueMessage } from '../protocol.js';
import { ExecutionSession, type SessionStats } from './execution-session.js';
import type { Faults } from './faults.js';
import type { EntryOptions, OrderEntry } from './order-entry.js';
import type { ReportLog } from './report-log.js';

export interface ConnectionDeps {
  entry: OrderEntry;
  log: ReportLog;
  faults: Faults;
  heartbeatMs: number;
  random: () => number;
  defaults: EntryOptions;
  logger: Logger;
}

export interface VenueListener {
  server: net.Server;
  sessions: Set<ExecutionSession>;
  entryConnections: Set<net.Socket>;
  stats: SessionStats & { badRequests: number; connections: number };
}

const ENTRY_TYPES: readonly ClientMessage['type'][] = ['new_order', 'cancel_order', 'replace_order', 'entry_options'];

/**
 * The venue's TCP port. The first message decides what a connection is: order entry
 * (new_order, cancel_order, entry_options) or an execution session (logon, then
 * resend_request). A line that is not a valid message of that kind is answered BadRequest and
 * the connection goes on; nothing a peer sends can stop the venue.
 */
export function createVenueListener(deps: ConnectionDeps): VenueListener {
  const sessions = new Set<ExecutionSession>();
  const entryConnections = new Set<net.Socket>();
  const stats = { reportsSent: 0, resent: 0, heartbeats: 0, badRequests: 0, connections: 0 };
  deps.log.onDurable(() => {
    for (const session of sessions) session.notify();
  });

  const server = net.createServer((socket) => {
    stats.connections += 1;
    socket.setNoDelay(true);
    socket.on('error', () => {}); // a peer's reset ends only its own connection
    let kind: 'entry' | 'session' | undefined;
    let session: ExecutionSession | undefined;
    const options: EntryOptions = { ...deps.defaults };
    const answer = (message: VenueMessage) => {
      if (!socket.destroyed) socket.write(encodeLine(message));
    };
    const badRequest = (message: string, reqId?: unknown) => {
      stats.badRequests += 1;
      answer({ type: 'error', ...(validReqId(reqId) ? { req_id: reqId } : {}), error: 'BadRequest', message });
    };
    socket.once('close', () => {
      entryConnections.delete(socket);
      if (session) sessions.delete(session);
    });

    onLines(socket, (event) => {
      if (event.kind === 'too_long') return badRequest(`line longer than ${MAX_LINE_BYTES} bytes`);
      const parsed = parseLine(event.text, clientMessage);
      if (!parsed.ok) {
        const raw = parsed.raw as { type?: unknown; req_id?: unknown; order?: unknown } | undefined;
        // The seed's place_order without an order: its own error, not a malformed request.
        if (raw?.type === 'new_order' && raw.order == null && validReqId(raw.req_id)) {
          kind ??= 'entry';
          if (kind === 'entry') {
            void deps.entry.newOrder(raw.req_id, undefined, options).then(answer);
            return;
          }
        }
        return badRequest(parsed.reason, raw?.req_id);
      }
      const message = parsed.value;
      const messageKind = ENTRY_TYPES.includes(message.type) ? 'entry' : 'session';
      kind ??= messageKind;
      if (kind !== messageKind) {
        return badRequest(
          `a ${message.type} on an ${kind === 'entry' ? 'order-entry connection' : 'execution session'}`,
          (message as { req_id?: unknown }).req_id,
        );
      }
      switch (message.type) {
        case 'entry_options':
          if (message.failure_rate !== undefined) options.failureRate = message.failure_rate;
          if (message.latency_ms !== undefined) options.latencyMs = message.latency_ms;
          if (message.first_attempt_fails !== undefined) options.firstAttemptFails = message.first_attempt_fails;
          return;
        case 'new_order':
          entryConnections.add(socket);
          void deps.entry.newOrder(message.req_id, message.order, options).then(answer, (error: unknown) => {
            deps.logger.error({ err: error, orderId: message.order.id }, 'new_order failed');
            answer({
              type: 'error',
              req_id: message.req_id,
              error: 'OrderPlacementError',
              message: 'Failed to place order at stock exchange. Connection not available',
            });
          });
          return;
        case 'cancel_order':
          entryConnections.add(socket);
          void deps.entry.cancelOrder(message.req_id, message.order_id, message.reason).then(answer, (error: unknown) => {
            // The ledger could not be reached: no answer is a lost answer to the client, which retries.
            deps.logger.error({ err: error, orderId: message.order_id }, 'cancel_order failed');
            socket.destroy();
          });
          return;
        case 'replace_order':
          entryConnections.add(socket);
          void deps.entry.replaceOrder(message, options).then(answer, (error: unknown) => {
            deps.logger.error({ err: error, orderId: message.order_id }, 'replace_order failed');
            socket.destroy();
          });
          return;
        case 'logon':
          if (session) return badRequest('already logged on');
          session = new ExecutionSession(message.session, socket, deps.log, deps.faults, deps.heartbeatMs, deps.random, stats);
          sessions.add(session);
          session.logon(message.next_seq);
          return;
        case 'resend_request':
          if (!session) return badRequest('resend_request before logon');
          if (message.to_seq < message.from_seq) return badRequest('to_seq is below from_seq');
          session.resend(message.from_seq, message.to_seq);
          return;
      }
    });
  });
  return { server, sessions, entryConnections, stats };
}

function validReqId(value: unknown): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= 64;
}
