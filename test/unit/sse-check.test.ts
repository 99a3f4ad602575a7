import { describe, expect, it } from 'vitest';
import { StreamCheck } from '../../bench/sse-check.js';
import { type EventTag, execIdOf } from '../../bench/sse-shape.js';

// The bench's per-stream check (bench/sse-check.ts): what a broken server would send shows as a
// violation, whatever the chunking of the socket's bytes.

const frame = (id: number, tag: EventTag) =>
  `id:${id}\nevent:fill\ndata:{"order_id":"o","kind":"fill","execution":{"exec_id":"${execIdOf(tag)}","exec_type":"partial_fill"}}\n\n`;

/** Account 3's events 1..n, alternating between its orders 0 and 1; ids 100, 101, … */
function flow(n: number): string[] {
  const orderSeqs = [0, 0];
  return Array.from({ length: n }, (_, i) => {
    const order = i % 2;
    return frame(100 + i, { exec: i, account: 3, order, accountSeq: i + 1, orderSeq: ++orderSeqs[order]! });
  });
}

function fed(check: StreamCheck, text: string, chunk = 7): EventTag[] {
  const firstHand: EventTag[] = [];
  for (let i = 0; i < text.length; i += chunk) check.feed(text.slice(i, i + chunk), (tag) => firstHand.push(tag));
  return firstHand;
}

describe("the bench's stream check", () => {
  it('takes a whole flow in any chunking, heartbeats and retry lines between, without a violation', () => {
    const check = new StreamCheck(3, null, '99');
    const events = flow(6);
    const firstHand = fed(check, `retry:2000\n\n${events.slice(0, 3).join('')}:\n\n${events.slice(3).join('')}`, 5);
    expect(check.violations).toEqual({ foreign: 0, outOfOrder: 0, missing: 0, repeated: 0 });
    expect(firstHand.map((tag) => tag.accountSeq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect([check.lastId, check.lastSeq, check.received]).toEqual(['105', 6, 6]);
  });

  it('counts a skipped event, a repeated one, an id that went back, and another scope’s event', () => {
    const events = flow(6);
    const skipping = new StreamCheck(3, null, '99');
    fed(skipping, [events[0], events[2], events[3]].join(''));
    expect(skipping.violations.missing).toBe(1);
    const repeating = new StreamCheck(3, null, '99');
    fed(repeating, [events[0], events[1], events[1], events[2]].join(''));
    expect(repeating.violations).toMatchObject({ repeated: 1, outOfOrder: 1, missing: 0 });
    const foreign = new StreamCheck(4, null, '99');
    fed(foreign, events[0]!);
    expect(foreign.violations.foreign).toBe(1);
    // Order 1's stream: order 0's event is another scope's.
    const scoped = new StreamCheck(3, 1, '99');
    fed(scoped, [events[1], events[2], events[3]].join(''));
    expect(scoped.violations).toMatchObject({ foreign: 1, missing: 0 });
    expect(scoped.lastSeq).toBe(2);
  });

  it('after a resume from an older id, expects the events after it again, and they are not first-hand', () => {
    const events = flow(6);
    const check = new StreamCheck(3, null, '99');
    fed(check, events.slice(0, 5).join(''));
    check.resume('101', 2);
    const again = fed(check, events.slice(2).join(''));
    expect(check.violations).toEqual({ foreign: 0, outOfOrder: 0, missing: 0, repeated: 0 });
    expect(again.map((tag) => tag.accountSeq)).toEqual([6]);
    // Resumed from id 101 (number 2), the server starting at number 4 skipped one.
    check.resume('101', 2);
    fed(check, events.slice(3).join(''));
    expect(check.violations.missing).toBe(1);
  });
});
