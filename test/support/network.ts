import net from 'node:net';

/** A TCP server that accepts connections and never answers: a hung dependency. */
export async function blackhole(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    // A client that gives up may reset the connection: an 'error' event (ECONNRESET) that, with no
    // listener, is an uncaught exception of no test. A hung dependency has nothing to report.
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
