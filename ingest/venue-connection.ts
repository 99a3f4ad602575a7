import net from 'node:net';
import type { Logger } from '../config/logger.js';
import { parseAddress } from '../exchange/address.js';
import { type LineEvent, onLines } from '../exchange/lines.js';
import { encodeLine } from '../exchange/protocol.js';

export interface VenueConnection {
  /** Sends a message, unless the connection is closed. */
  send(message: Parameters<typeof encodeLine>[0]): void;
  /** Closes the connection (logged once, with why); later calls do nothing. */
  close(why: string, error?: unknown): void;
  readonly closed: boolean;
  /** Hands every line read to `handle` until the connection closes. */
  readLines(handle: (event: LineEvent) => void): void;
  /** Stops and starts reading the socket (TCP pushes back on the venue meanwhile). */
  pause(): void;
  resume(): void;
  /** Resolves once the socket has closed. */
  readonly ended: Promise<void>;
}

export interface VenueConnectionOptions {
  address: string;
  session: string;
  /** The logon's next_seq: the first seq this connection asks for. */
  nextSeq: number;
  logger: Logger;
  /** Signals that close the connection, each with the reason it logs. */
  closeOn: { signal: AbortSignal; why: string }[];
  /** What the close's log line adds (the committed seq). */
  closeContext: () => Record<string, unknown>;
}

/** Opens the execution session's connection and logs on with `nextSeq` once connected. */
export function connectVenue(options: VenueConnectionOptions): VenueConnection {
  const { session, logger } = options;
  const { host, port } = parseAddress(options.address);
  let closed = false;
  const socket = net.connect({ host, port });
  socket.setNoDelay(true);
  socket.setKeepAlive(true, 5000);

  const close = (why: string, error?: unknown) => {
    if (closed) return;
    closed = true;
    if (error) logger.warn({ err: error, session }, `venue session closed: ${why}`);
    else logger.info({ session, ...options.closeContext() }, `venue session closed: ${why}`);
    socket.destroy();
  };
  const aborts = options.closeOn.map(({ signal, why }) => ({ signal, onAbort: () => close(why) }));
  for (const { signal, onAbort } of aborts) signal.addEventListener('abort', onAbort, { once: true });
  const send = (message: Parameters<typeof encodeLine>[0]) => {
    if (!closed) socket.write(encodeLine(message));
  };

  socket.on('connect', () => {
    logger.debug({ session, host, port }, 'connected to the venue');
    send({ type: 'logon', session, next_seq: options.nextSeq });
  });
  socket.on('error', (error) => close('socket error', error));
  const ended = new Promise<void>((resolve) => {
    socket.once('close', () => {
      close('the venue closed the connection');
      for (const { signal, onAbort } of aborts) signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });

  return {
    send,
    close,
    get closed() {
      return closed;
    },
    readLines: (handle) =>
      onLines(socket, (event) => {
        if (!closed) handle(event);
      }),
    pause: () => socket.pause(),
    resume: () => socket.resume(),
    ended,
  };
}
