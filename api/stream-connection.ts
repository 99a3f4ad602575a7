import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NodeHttp1Connection } from 'better-sse';

/** better-sse's Node connection, also taking the shared byte chunks and telling how much is unsent. */
export class StreamConnection extends NodeHttp1Connection {
  /** The last write went over the socket's high-water mark: 'drain' follows. */
  private full = false;

  constructor(
    req: IncomingMessage,
    private readonly out: ServerResponse,
  ) {
    super(req, out, { statusCode: 200 });
  }

  // A write to a response that is ended (by end(): the API's close) but not yet closed is a write
  // after end: Node reports it as an 'error' event of the response, which nobody listens to (an
  // uncaught exception). better-sse's heartbeat timer writes through sendChunk until the
  // response's 'close' event, so a beat can fall in that window. Nothing is written once gone.
  override sendHead = (): void => {
    if (!this.gone) this.out.writeHead(this.response.status, Object.fromEntries(this.response.headers));
  };

  override sendChunk = (chunk: string): void => {
    if (!this.gone) this.out.write(chunk);
  };

  write(chunk: Buffer | string): void {
    if (this.gone) return;
    this.full = !this.out.write(chunk);
  }

  /** Bytes written but not yet taken by the client. */
  get unsent(): number {
    return this.out.writableLength;
  }

  get gone(): boolean {
    return this.out.destroyed || this.out.writableEnded;
  }

  /** Resolves once the client has taken what was written (or is gone). */
  async drained(): Promise<void> {
    if (!this.full || this.gone) return;
    const stop = new AbortController();
    await Promise.race([once(this.out, 'drain', { signal: stop.signal }), once(this.out, 'close', { signal: stop.signal })]).catch(
      () => {},
    );
    stop.abort();
  }

  end(): void {
    this.out.end();
  }

  cut(): void {
    this.out.destroy();
  }
}
