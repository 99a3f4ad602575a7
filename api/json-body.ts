import type { Context } from 'koa';
import { parse } from 'lossless-json';
import getRawBody from 'raw-body';
import { ClientError } from './errors.js';

export const MAX_BODY_BYTES = 16 * 1024;

/**
 * Reads a JSON request body. Numbers are kept as their exact source text (LosslessNumber), so
 * a price is checked and stored as written, never through a float.
 */
export async function readJsonBody(ctx: Context): Promise<unknown> {
  if (!ctx.is('application/json')) {
    throw new ClientError(415, 'Content-Type must be application/json');
  }
  let text: string;
  try {
    text = await getRawBody(ctx.req, { limit: MAX_BODY_BYTES, encoding: 'utf8', length: ctx.get('content-length') || undefined });
  } catch (error) {
    const type = (error as { type?: string }).type;
    if (type === 'entity.too.large') throw new ClientError(413, `Request body exceeds ${MAX_BODY_BYTES} bytes`);
    if (type === 'encoding.unsupported' || type === 'charset.unsupported') throw new ClientError(415, 'Request body must be UTF-8');
    throw new ClientError(400, 'Request body could not be read');
  }
  try {
    return parse(text);
  } catch (error) {
    throw new ClientError(400, `Malformed JSON: ${(error as Error).message}`);
  }
}
