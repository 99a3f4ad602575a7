import { describe, expect, it } from 'vitest';
import { applyFill, costBasis, FLAT, moneyText, moneyUnits, type Position, type PositionFill, positionOf } from '../../domain/positions.js';

// The position arithmetic (domain/positions.ts): average cost, exact in 10^-6 units.
const buy = (quantity: number, price: string, at = 't'): PositionFill => ({ side: 'buy', quantity, price, at });
const sell = (quantity: number, price: string, at = 't'): PositionFill => ({ side: 'sell', quantity, price, at });
const fold = (...fills: PositionFill[]) => fills.reduce(applyFill, FLAT);
const shown = (position: Position) => ({
  quantity: position.quantity,
  average: moneyText(position.averageEntryPrice),
  cost: moneyText(costBasis(position)),
  pnl: moneyText(position.realizedPnl),
});

describe('positions: average cost, exact', () => {
  it('a long: buys raise quantity and cost, a reducing sell realises against the average and keeps it', () => {
    expect(shown(fold(buy(10, '100'), buy(10, '110')))).toEqual({
      quantity: 20,
      average: '105.000000',
      cost: '2100.000000',
      pnl: '0.000000',
    });
    expect(shown(fold(buy(10, '100'), buy(10, '110'), sell(5, '120')))).toEqual({
      quantity: 15,
      average: '105.000000',
      cost: '1575.000000',
      pnl: '75.000000',
    });
    // A loss is negative.
    expect(shown(fold(buy(10, '100'), sell(4, '99.5')))).toMatchObject({ quantity: 6, pnl: '-2.000000' });
  });

  it('a short: sells open it, a reducing buy realises (avg − px) × qty', () => {
    expect(shown(fold(sell(10, '50'), sell(10, '60')))).toEqual({
      quantity: -20,
      average: '55.000000',
      cost: '-1100.000000',
      pnl: '0.000000',
    });
    expect(shown(fold(sell(10, '50'), sell(10, '60'), buy(5, '40')))).toEqual({
      quantity: -15,
      average: '55.000000',
      cost: '-825.000000',
      pnl: '75.000000',
    });
  });

  it('closing to flat realises all and leaves no average; crossing through zero opens the other side at the fill price', () => {
    expect(shown(fold(buy(10, '100'), sell(10, '101')))).toEqual({ quantity: 0, average: '0.000000', cost: '0.000000', pnl: '10.000000' });
    // long 10 @ 100, sell 15 @ 90: realises 10 × (90 − 100), opens short 5 @ 90
    expect(shown(fold(buy(10, '100'), sell(15, '90')))).toEqual({
      quantity: -5,
      average: '90.000000',
      cost: '-450.000000',
      pnl: '-100.000000',
    });
    // and back: short 5 @ 90, buy 8 @ 80 realises 5 × 10, opens long 3 @ 80
    expect(shown(fold(buy(10, '100'), sell(15, '90'), buy(8, '80')))).toEqual({
      quantity: 3,
      average: '80.000000',
      cost: '240.000000',
      pnl: '-50.000000',
    });
  });

  it('odd prices: exact, the average rounded half up to 6 places only when it changes', () => {
    // 1 @ 0.1 + 2 @ 0.2 = 0.5 over 3 = 0.1666666… -> 0.166667; where floats go wrong: 0.1 + 0.2
    expect(shown(fold(buy(1, '0.1'), buy(2, '0.2')))).toMatchObject({ average: '0.166667', cost: '0.500001' });
    expect(shown(fold(buy(1, '0.1'), buy(1, '0.2')))).toMatchObject({ average: '0.150000', cost: '0.300000' });
    // a reduce keeps the rounded average exactly, and the pnl follows it to the last unit
    expect(shown(fold(buy(1, '0.1'), buy(2, '0.2'), sell(1, '0.3')))).toEqual({
      quantity: 2,
      average: '0.166667',
      cost: '0.333334',
      pnl: '0.133333',
    });
    // half a unit rounds up: 0.0001 over 8 shares
    expect(moneyText(fold(buy(1, '0.0001'), buy(7, '0')).averageEntryPrice)).toBe('0.000013');
    // the largest prices stay exact (no float anywhere)
    expect(shown(fold(buy(3, '9999999999999999.9999'), sell(1, '0.0001')))).toMatchObject({
      quantity: 2,
      pnl: '-9999999999999999.999800',
    });
  });

  it('a bust: the fold of the standing fills; the same as reversing when the busted fill was the last', () => {
    const fills = [buy(10, '100', 'a'), buy(5, '103.3333', 'b'), sell(7, '99.99', 'c')];
    // bust of the last fill: exactly the position before it
    expect(positionOf(fills.slice(0, 2), 'bust')).toEqual({ ...fold(...fills.slice(0, 2)), updatedAt: 'bust' });
    // bust of the first: as if it never was (a short of 2 at the sell's price, and nothing realised)
    const withoutFirst = positionOf([fills[1]!, fills[2]!], 'bust');
    expect(shown(withoutFirst)).toEqual({ quantity: -2, average: '99.990000', cost: '-199.980000', pnl: '-16.716500' });
    expect(withoutFirst.updatedAt).toBe('bust');
    expect(positionOf([], 'bust')).toEqual({ ...FLAT, updatedAt: 'bust' });
  });

  it('refuses what is no fill, and reads money columns exactly', () => {
    expect(() => applyFill(FLAT, buy(0, '1'))).toThrow(RangeError);
    expect(() => applyFill(FLAT, buy(1, '1.00001'))).toThrow(RangeError);
    expect(moneyUnits('-12.5')).toBe(-12_500_000n);
    expect(moneyUnits('0.000001')).toBe(1n);
    expect(() => moneyUnits('1e3')).toThrow(RangeError);
  });
});
