import { costBasis, moneyText, type Position } from '../domain/positions.js';

/**
 * A position as clients see it (GET /positions, GET /positions/{instrument}, a `fill` event's
 * `position`): money as exact decimal strings with 6 places, never a float; the average entry
 * price null while the position is flat (there is no open quantity to have one).
 */
export interface PositionBody {
  instrument: string;
  quantity: number;
  average_entry_price: string | null;
  cost_basis: string;
  realized_pnl: string;
  updated_at: string | null;
}

export function positionBody(instrument: string, position: Position): PositionBody {
  return {
    instrument,
    quantity: position.quantity,
    average_entry_price: position.quantity === 0 ? null : moneyText(position.averageEntryPrice),
    cost_basis: moneyText(costBasis(position)),
    realized_pnl: moneyText(position.realizedPnl),
    updated_at: position.updatedAt,
  };
}
