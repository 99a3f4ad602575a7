import { z } from 'zod';
import type { oas31, ZodOpenApiPathsObject } from 'zod-openapi';
import { INSTRUMENT_LENGTH } from '../domain/limits.js';
import { NO_CONTROL_CHARACTERS_PATTERN } from './control-characters.js';
import { POSITION_EXAMPLES, POSITION_LIST_EXAMPLES } from './openapi-examples.js';
import { internalErrorResponse, json, optionsOperation } from './openapi-helpers.js';
import { responseSchemas as schemas } from './openapi-schemas.js';

/** GET /positions/{instrument}'s instrument (path): the rules of an order's (api/positions-routes.ts). */
const instrumentPathParameter = z
  .string()
  .min(INSTRUMENT_LENGTH)
  .max(INSTRUMENT_LENGTH)
  .meta({
    pattern: NO_CONTROL_CHARACTERS_PATTERN,
    param: {
      name: 'instrument',
      in: 'path',
      description: `The instrument, as orders name it: exactly ${INSTRUMENT_LENGTH} characters (an ISIN's length).`,
    },
  });

/** /positions and /positions/{instrument}: the account's positions. */
export function positionsPaths(): ZodOpenApiPathsObject {
  return {
    '/positions': {
      get: {
        operationId: 'listPositions',
        tags: ['positions'],
        summary: "List the account's open positions",
        description:
          "Every instrument in which the account's position is not zero, by instrument (one entry each; no pages). A " +
          "position is kept by the ingestion of the venue's fills, in the transaction that stores them: it is the fold of " +
          "the account's standing fills (busts taken out) in the order they were stored, by the average cost rule of " +
          '`Position` (docs/positions.md).',
        responses: {
          200: json('The open positions.', schemas.PositionList, undefined, POSITION_LIST_EXAMPLES),
          422: json('A query parameter: this path takes none (`loc`: `["query", "<parameter>"]`).', schemas.ValidationError),
          500: internalErrorResponse,
        },
      },
      options: optionsOperation('positionsOptions', '/positions', { tag: 'positions' }),
    },
    '/positions/{instrument}': {
      parameters: [instrumentPathParameter as unknown as oas31.ParameterObject],
      get: {
        operationId: 'getPosition',
        tags: ['positions'],
        summary: "Get the account's position in one instrument",
        description: 'The position, flat (`quantity` 0) or not, of an instrument the account traded; 404 if it never did.',
        responses: {
          200: json('The position.', schemas.Position, undefined, POSITION_EXAMPLES),
          404: json('The account never traded this instrument.', schemas.Message),
          422: json(
            `The instrument breaks the rules of an order's \`instrument\` (exactly ${INSTRUMENT_LENGTH} characters, no control or ` +
              'format character; `loc`: `["path", "instrument"]`).',
            schemas.ValidationError,
          ),
          500: internalErrorResponse,
        },
      },
      options: optionsOperation('positionOptions', '/positions/{instrument}', { tag: 'positions' }),
    },
  };
}
