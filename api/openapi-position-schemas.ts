import { z } from 'zod';
import { INSTRUMENT_LENGTH } from '../domain/limits.js';
import { dateTime } from './openapi-order-schemas.js';

/** Money of a position: an exact decimal string with 6 places, signed. */
const money = (description: string) =>
  z
    .string()
    .regex(/^-?\d+\.\d{6}$/)
    .meta({ description: `${description} An exact decimal string with 6 places (never a float).` });

export const position = z
  .strictObject({
    instrument: z.string().length(INSTRUMENT_LENGTH),
    quantity: z.int().meta({ description: 'Signed: buys add, sells subtract; negative is short, 0 flat.' }),
    average_entry_price: z
      .string()
      .regex(/^\d+\.\d{6}$/)
      .nullable()
      .meta({
        description:
          'The average price of the open quantity (average cost; rounded half up to 6 places when a fill adds to the ' +
          'position, kept when one reduces it, the fill price when one crosses zero); null when flat.',
      }),
    cost_basis: money('`quantity` × `average_entry_price`: negative for a short, 0 when flat.'),
    realized_pnl: money(
      'What reductions realised: (price − average) × quantity closed of a long, (average − price) × quantity of a short.',
    ),
    updated_at: dateTime().meta({ description: "The venue's time of the last fill or bust that changed it." }),
  })
  .meta({
    description:
      "The account's position in one instrument, kept by the ingestion of the venue's fills in the same transaction; busts " +
      'included (docs/positions.md).',
  });

export const positionList = z
  .strictObject({ data: z.array(position).meta({ description: 'Every instrument with a non-zero position, by instrument.' }) })
  .meta({ description: "The account's open positions." });
