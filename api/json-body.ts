import type { Context, Middleware } from 'koa';
import { isLosslessNumber, parse } from 'lossless-json';
import getRawBody from 'raw-body';
import { HTTP_TIMEOUT_DEFAULTS } from '../config/config.js';
import { ClientError } from './errors.js';

export const MAX_BODY_BYTES = 16 * 1024;

/** What readJsonBody reads from ctx.state, set for every request by bodyReadSettings. */
interface BodyReadState {
  bodyIdleTimeoutMs?: number;
}

/** Makes readJsonBody give up on a body that sends nothing for `idleTimeoutMs` (408). */
export function bodyReadSettings(idleTimeoutMs: number): Middleware {
  return (ctx, next) => {
    (ctx.state as BodyReadState).bodyIdleTimeoutMs = idleTimeoutMs;
    return next();
  };
}

// fatal: invalid UTF-8 is refused, never silently replaced by U+FFFD (a BOM is still skipped).
const UTF8 = new TextDecoder('utf-8', { fatal: true });
const UTF8_CHARSETS = new Set(['', 'utf-8', 'utf8']);

/**
 * Reads a JSON request body. Numbers are kept as their exact source text (LosslessNumber), so
 * a price is checked and stored as written, never through a float. The body must be UTF-8
 * (charset absent or utf-8, else 415; invalid bytes 400) and its strings valid Unicode (an
 * unpaired `\ud800`-style escape: 400); a body that stalls answers 408 and closes the connection.
 */
export async function readJsonBody(ctx: Context): Promise<unknown> {
  if (!ctx.is('application/json')) {
    throw new ClientError(415, 'Content-Type must be application/json');
  }
  if (!UTF8_CHARSETS.has(ctx.request.charset.toLowerCase())) {
    throw new ClientError(415, 'Request body must be UTF-8: the Content-Type charset must be utf-8, or absent');
  }
  const bytes = await readBody(ctx);
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw new ClientError(400, 'Request body is not valid UTF-8');
  }
  let body: unknown;
  try {
    body = parse(text);
  } catch (error) {
    throw new ClientError(400, `Malformed JSON: ${(error as Error).message}`);
  }
  const surrogate = loneSurrogateAt(body, '');
  if (surrogate !== undefined) {
    throw new ClientError(
      400,
      `Malformed JSON: the string at ${surrogate || '/'} holds a lone surrogate (an unpaired \\ud800-\\udfff escape), which is not Unicode text`,
    );
  }
  return body;
}

class BodyStalledError extends ClientError {
  constructor(idleMs: number) {
    super(408, `Request body stalled: nothing received for ${idleMs} ms`);
  }
}

/** The raw body, or a ClientError; gives up (408) when no byte arrives for the idle timeout. */
async function readBody(ctx: Context): Promise<Buffer> {
  const idleMs = (ctx.state as BodyReadState).bodyIdleTimeoutMs ?? HTTP_TIMEOUT_DEFAULTS.bodyIdleMs;
  const reading = getRawBody(ctx.req, { limit: MAX_BODY_BYTES, length: ctx.get('content-length') || undefined });
  let timer: NodeJS.Timeout | undefined;
  const onData = () => timer?.refresh();
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BodyStalledError(idleMs)), idleMs);
  });
  ctx.req.on('data', onData);
  try {
    return await Promise.race([reading, stalled]);
  } catch (error) {
    if (error instanceof BodyStalledError) {
      // The rest of the body will not be read: the connection cannot carry another request.
      reading.catch(() => {}); // it fails once the connection closes
      ctx.set('Connection', 'close');
      throw error;
    }
    const type = (error as { type?: string }).type;
    if (type === 'entity.too.large') throw new ClientError(413, `Request body exceeds ${MAX_BODY_BYTES} bytes`);
    throw new ClientError(400, 'Request body could not be read');
  } finally {
    clearTimeout(timer);
    ctx.req.off('data', onData);
  }
}

const LONE_SURROGATE = /\p{Cs}/u;

/** The JSON pointer of the first string (value or key) with an unpaired surrogate, or undefined. */
function loneSurrogateAt(value: unknown, pointer: string): string | undefined {
  if (typeof value === 'string') return LONE_SURROGATE.test(value) ? pointer : undefined;
  if (typeof value !== 'object' || value === null || isLosslessNumber(value)) return undefined;
  for (const [key, item] of Object.entries(value)) {
    const at = `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    if (LONE_SURROGATE.test(key)) return at;
    const found = loneSurrogateAt(item, at);
    if (found !== undefined) return found;
  }
  return undefined;
}
