// Its own module: the worker's venue client and the ingestion process's venue connection both
// dial the venue by a `host:port` setting, and neither process may import the other's code.

/** `host:port` (an IPv6 host in brackets) as its parts; a RangeError if it is not that. */
export function parseAddress(address: string): { host: string; port: number } {
  const match = /^(.+):(\d{1,5})$/.exec(address);
  if (!match) throw new RangeError(`not host:port: ${address}`);
  return { host: match[1]!.replace(/^\[(.*)\]$/, '$1'), port: Number(match[2]) };
}
