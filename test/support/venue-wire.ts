import net from 'node:net';
import { parseAddress } from '../../exchange/address.js';
import { onLines } from '../../exchange/lines.js';
import { type VenueMessage, venueMessage } from '../../exchange/protocol.js';
import { waitFor } from './wait.js';

/** A raw line connection to the venue, for tests of the wire: what was received, in order, each checked by the protocol. */
export interface WireConnection {
  received: VenueMessage[];
  /** The same messages as the lines they came in, byte for byte (without their newline). */
  lines: string[];
  closed: boolean;
  send(message: object | string): void;
  /** Waits until `count` received messages satisfy `match`; returns them. */
  waitFor<T extends VenueMessage>(match: (message: VenueMessage) => message is T, count?: number, what?: string): Promise<T[]>;
  close(): void;
}

export async function openWire(address: string): Promise<WireConnection> {
  const { host, port } = parseAddress(address);
  const socket = net.connect({ host, port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => {});
  const connection: WireConnection = {
    received: [],
    lines: [],
    closed: false,
    send(message) {
      socket.write(typeof message === 'string' ? message : `${JSON.stringify(message)}\n`);
    },
    async waitFor(match, count = 1, what = 'messages') {
      return waitFor(
        async () => {
          const found = connection.received.filter(match);
          return found.length >= count ? found : undefined;
        },
        30_000,
        `${count} ${what} (received ${connection.received.length})`,
      ) as Promise<never>;
    },
    close: () => socket.destroy(),
  };
  socket.once('close', () => {
    connection.closed = true;
  });
  onLines(socket, (event) => {
    if (event.kind !== 'line') throw new Error('the venue sent a line longer than the protocol allows');
    connection.received.push(venueMessage.parse(JSON.parse(event.text)));
    connection.lines.push(event.text);
  });
  return connection;
}

export const is =
  <K extends VenueMessage['type']>(type: K) =>
  (message: VenueMessage): message is Extract<VenueMessage, { type: K }> =>
    message.type === type;
