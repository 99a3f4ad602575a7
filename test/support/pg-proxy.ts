import net from 'node:net';

/**
 * A TCP proxy in front of PostgreSQL that reads just enough of the wire protocol (v3) to see
 * each statement a client runs, and can make the client lose the server's answer to one: the
 * statement reaches the server and completes there (committed, if it was the end of a
 * transaction), but the client never hears so, because the proxy swallows everything the server
 * says from then on and cuts the connection once the server reported ready again. That is the
 * "lost acknowledgement of a COMMIT" fault, which no client-side timeout can tell apart from a
 * statement that never ran.
 *
 * A statement inside an explicit transaction is not committed when its own answer arrives, so
 * for such a statement the proxy waits for the COMMIT that ends its transaction and loses that
 * answer instead.
 */

export interface PgStatement {
  /** Which client connection (1, 2, …) ran it. */
  connection: number;
  /** 'simple': a Query message; 'extended': the Execute of a portal (Parse/Bind/Execute). */
  protocol: 'simple' | 'extended';
  text: string;
  /** The Bind parameters in text format (null: SQL NULL or a binary value). */
  params: (string | null)[];
  /** Transaction status before it ran: 'I' idle (autocommit), 'T' in a transaction, 'E' failed one. */
  transaction: 'I' | 'T' | 'E';
}

export interface LostAnswer {
  /** The statement the rule chose. */
  chosen: PgStatement;
  /** The statement whose answer was lost: the chosen one, or the COMMIT of its transaction. */
  lost: PgStatement;
  /** When the server's ReadyForQuery after it was swallowed (epoch ms); null if the connection ended first. */
  completedAt: number | null;
}

/** Decides for a statement whether its answer (or its COMMIT's) is lost. */
export type LoseRule = (statement: PgStatement) => boolean;

export interface PgProxy {
  port: number;
  /** The database URL with its host and port replaced by the proxy's. */
  urlFor(databaseUrl: string): string;
  /** Sets (or, with undefined, clears) the rule applied to every statement from now on. */
  setRule(rule: LoseRule | undefined): void;
  /** Every statement seen so far is passed here (for finding out what a client sends). */
  onStatement(listener: ((statement: PgStatement) => void) | undefined): void;
  readonly lost: readonly LostAnswer[];
  close(): Promise<void>;
}

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const [Q, P, B, E, Z] = ['Q', 'P', 'B', 'E', 'Z'].map((letter) => letter.charCodeAt(0));
/** A lost answer whose ReadyForQuery never comes (the server hung): the connection is cut after this. */
const LOST_ANSWER_CUTOFF_MS = 60_000;

export async function startPgProxy(target: { host: string; port: number }): Promise<PgProxy> {
  let rule: LoseRule | undefined;
  let listener: ((statement: PgStatement) => void) | undefined;
  const lost: LostAnswer[] = [];
  const sockets = new Set<net.Socket>();
  let connections = 0;

  const server = net.createServer((client) => {
    connections += 1;
    const id = connections;
    const upstream = net.connect(target.port, target.host);
    sockets.add(client).add(upstream);
    const cut = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', cut).on('close', cut);
    upstream.on('error', cut).on('close', cut);
    client.setNoDelay(true);
    upstream.setNoDelay(true);

    let transaction: PgStatement['transaction'] = 'I';
    // One-byte answers the server owes to SSLRequest/GSSENCRequest, which are not framed.
    let unframedBytes = 0;
    let raw = false; // after TLS or a cancel request: bytes are passed on unread
    let startup = true;
    const statements = new Map<string, string>(); // prepared statement name -> text
    const portals = new Map<string, { text: string; params: (string | null)[] }>();
    let awaitingCommit: PgStatement | undefined; // chosen inside a transaction: lose its COMMIT's answer
    let losing: LostAnswer | undefined;

    const observe = (statement: PgStatement) => {
      listener?.(statement);
      if (losing) return;
      if (awaitingCommit) {
        if (/^\s*(COMMIT|END)\b/i.test(statement.text)) {
          startLosing(awaitingCommit, statement);
        } else if (/^\s*(ROLLBACK|ABORT)\b/i.test(statement.text)) {
          awaitingCommit = undefined;
        }
        return;
      }
      if (!rule?.(statement)) return;
      if (statement.transaction === 'I') startLosing(statement, statement);
      else awaitingCommit = statement;
    };
    const startLosing = (chosen: PgStatement, statement: PgStatement) => {
      losing = { chosen, lost: statement, completedAt: null };
      lost.push(losing);
      setTimeout(cut, LOST_ANSWER_CUTOFF_MS).unref();
    };

    // Each direction is parsed into messages, but passed on in one write per chunk: a write per
    // message made the proxy cost three times what the client itself spends on a query.
    let fromClient: Buffer = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      if (raw) {
        upstream.write(chunk);
        return;
      }
      fromClient = fromClient.length === 0 ? chunk : Buffer.concat([fromClient, chunk]);
      while (startup && fromClient.length >= 8) {
        const length = fromClient.readInt32BE(0);
        if (length < 8 || fromClient.length < length) break;
        const code = fromClient.readInt32BE(4);
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) unframedBytes += 1;
        else if (code === CANCEL_REQUEST) raw = true;
        else startup = false; // the StartupMessage; typed messages follow
        upstream.write(fromClient.subarray(0, length));
        fromClient = fromClient.subarray(length);
        if (raw) {
          upstream.write(fromClient);
          fromClient = Buffer.alloc(0);
          return;
        }
      }
      if (startup) return;
      let offset = 0;
      while (fromClient.length - offset >= 5) {
        const length = fromClient.readInt32BE(offset + 1);
        if (fromClient.length - offset < 1 + length) break;
        const type = fromClient[offset]!;
        const body = fromClient.subarray(offset + 5, offset + 1 + length);
        offset += 1 + length;
        // Seen before it is passed on: a statement whose answer is to be lost is marked before
        // the server can answer it.
        if (type === Q) {
          observe({ connection: id, protocol: 'simple', text: cString(body, 0).value, params: [], transaction });
        } else if (type === P) {
          const name = cString(body, 0);
          statements.set(name.value, cString(body, name.next).value);
        } else if (type === B) {
          const bind = parseBind(body);
          portals.set(bind.portal, { text: statements.get(bind.statement) ?? '', params: bind.params });
        } else if (type === E) {
          const portal = portals.get(cString(body, 0).value);
          observe({ connection: id, protocol: 'extended', text: portal?.text ?? '', params: portal?.params ?? [], transaction });
        }
      }
      if (offset > 0) upstream.write(fromClient.subarray(0, offset));
      fromClient = fromClient.subarray(offset);
    });

    let fromServer: Buffer = Buffer.alloc(0);
    upstream.on('data', (chunk: Buffer) => {
      if (raw) {
        client.write(chunk);
        return;
      }
      fromServer = fromServer.length === 0 ? chunk : Buffer.concat([fromServer, chunk]);
      while (unframedBytes > 0 && fromServer.length > 0) {
        unframedBytes -= 1;
        const answer = fromServer[0]!;
        client.write(fromServer.subarray(0, 1));
        fromServer = fromServer.subarray(1);
        if (answer === 'S'.charCodeAt(0) || answer === 'G'.charCodeAt(0)) {
          raw = true; // encrypted from here on: nothing more can be read
          client.write(fromServer);
          fromServer = Buffer.alloc(0);
          return;
        }
      }
      let offset = 0;
      while (fromServer.length - offset >= 5) {
        const length = fromServer.readInt32BE(offset + 1);
        if (fromServer.length - offset < 1 + length) break;
        const type = fromServer[offset]!;
        if (type === Z) transaction = String.fromCharCode(fromServer[offset + 5]!) as PgStatement['transaction'];
        offset += 1 + length;
        if (losing && type === Z) {
          // The server finished the statement (and committed it, outside a transaction); the
          // client heard nothing of it, and now loses the connection.
          losing.completedAt = Date.now();
          cut();
          return;
        }
      }
      if (!losing && offset > 0) client.write(fromServer.subarray(0, offset));
      fromServer = fromServer.subarray(offset);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  return {
    port,
    urlFor(databaseUrl) {
      const url = new URL(databaseUrl);
      url.hostname = '127.0.0.1';
      url.port = String(port);
      return url.toString();
    },
    setRule(next) {
      rule = next;
    },
    onStatement(next) {
      listener = next;
    },
    lost,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

function cString(buffer: Buffer, start: number): { value: string; next: number } {
  const end = buffer.indexOf(0, start);
  const stop = end === -1 ? buffer.length : end;
  return { value: buffer.toString('utf8', start, stop), next: stop + 1 };
}

/** Bind: portal, statement, parameter format codes, parameter values (result formats ignored). */
function parseBind(body: Buffer): { portal: string; statement: string; params: (string | null)[] } {
  const portal = cString(body, 0);
  const statement = cString(body, portal.next);
  let offset = statement.next;
  const formatCount = body.readInt16BE(offset);
  offset += 2;
  const formats: number[] = [];
  for (let i = 0; i < formatCount; i += 1) formats.push(body.readInt16BE(offset + 2 * i));
  offset += 2 * formatCount;
  const paramCount = body.readInt16BE(offset);
  offset += 2;
  const params: (string | null)[] = [];
  for (let i = 0; i < paramCount; i += 1) {
    const length = body.readInt32BE(offset);
    offset += 4;
    if (length < 0) {
      params.push(null);
      continue;
    }
    // No codes: all text; one code: it applies to every parameter; else one per parameter.
    const format = formatCount === 0 ? 0 : formatCount === 1 ? formats[0] : formats[i];
    params.push(format === 0 ? body.toString('utf8', offset, offset + length) : null);
    offset += length;
  }
  return { portal: portal.value, statement: statement.value, params };
}
