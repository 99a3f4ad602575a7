import Router from '@koa/router';
import type { Context } from 'koa';
import { INSTRUMENT_LENGTH } from '../domain/limits.js';
import type { PositionsQuery } from '../prisma/positions-query.js';
import { callerOf } from './caller.js';
import { controlCharacterDetails } from './control-characters.js';
import { PositionNotFoundError, RequestValidationError } from './errors.js';
import { positionBody } from './position-response.js';

export interface PositionsRouteDeps {
  positions: Pick<PositionsQuery, 'open' | 'find'>;
}

/**
 * The `{instrument}` of a path, by the rules of an order's instrument (api/order-request.ts):
 * exactly INSTRUMENT_LENGTH characters, none a control or format character; otherwise
 * RequestValidationError (422) naming it. No instrument that fails them can have a position.
 */
function parseInstrument(raw: string | undefined): string {
  const text = raw ?? '';
  const controls = controlCharacterDetails({ instrument: text }, ['instrument'], 'path');
  if (controls.length > 0) throw new RequestValidationError(controls);
  if ([...text].length !== INSTRUMENT_LENGTH) {
    throw new RequestValidationError([
      { loc: ['path', 'instrument'], msg: `String should have exactly ${INSTRUMENT_LENGTH} characters`, type: 'string_length' },
    ]);
  }
  return text;
}

/** GET /positions and GET /positions/{instrument}: the caller's account's only (docs/positions.md). */
export function positionsRouter(deps: PositionsRouteDeps): Router {
  const router = new Router();

  router.get('/positions', async (ctx) => {
    const extra = Object.keys(ctx.query);
    if (extra.length > 0) {
      throw new RequestValidationError(
        extra.map((name) => ({ loc: ['query', name], msg: 'Extra inputs are not permitted', type: 'extra_forbidden' })),
      );
    }
    const positions = await deps.positions.open(callerOf(ctx).accountId);
    respond(ctx, { data: positions.map((stored) => positionBody(stored.instrument, stored.position)) });
  });

  router.get('/positions/:instrument', async (ctx) => {
    const instrument = parseInstrument(ctx.params.instrument);
    const stored = await deps.positions.find(callerOf(ctx).accountId, instrument);
    if (!stored) throw new PositionNotFoundError(instrument);
    respond(ctx, positionBody(stored.instrument, stored.position));
  });

  return router;
}

function respond(ctx: Context, body: unknown): void {
  ctx.status = 200;
  ctx.type = 'application/json';
  ctx.body = JSON.stringify(body);
}
