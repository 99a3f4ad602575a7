import { describe, expect, it } from 'vitest';
import { averagePrice, notionalUnits, priceText, priceUnits, samePrice } from '../../domain/decimal.js';

describe('exact decimals of prices and fills', () => {
  it('reads prices with up to 4 decimals exactly and refuses anything else', () => {
    expect(priceUnits('187.25')).toBe(1_872_500n);
    expect(priceUnits('0.0001')).toBe(1n);
    expect(priceText(priceUnits('7'))).toBe('7.0000');
    for (const bad of ['1.23456', '-1', '1e3', '', '.5', '1.']) expect(() => priceUnits(bad)).toThrow(RangeError);
    expect(samePrice('187.2500', '187.25')).toBe(true);
  });

  it('averages fills exactly, rounded half up to 6 decimals', () => {
    // 1 @ 0.1 + 2 @ 0.2 = 0.5 over 3 = 0.1666666… -> 0.166667
    const notional = notionalUnits(1, '0.1') + notionalUnits(2, '0.2');
    expect(averagePrice(notional, 3)).toBe('0.166667');
    // where floats go wrong: 0.1 + 0.2 over 2 = 0.15 exactly
    expect(averagePrice(notionalUnits(1, '0.1') + notionalUnits(1, '0.2'), 2)).toBe('0.150000');
    // exactly half a unit of the 6th decimal rounds up: 0.0001 over 8 = 0.0000125 -> 0.000013
    expect(averagePrice(notionalUnits(1, '0.0001'), 8)).toBe('0.000013');
    expect(averagePrice(0n, 0)).toBeNull();
    expect(averagePrice(notionalUnits(3, '9999999999999999.9999'), 3)).toBe('9999999999999999.999900');
  });
});
