import { randomUUID } from 'node:crypto';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { serialize } from 'node:v8';
import { afterEach, describe, expect, it } from 'vitest';
import { type ExecutionReport, encodeLine, venueMessage } from '../../exchange/protocol.js';
import { Book } from '../../exchange/venue/book.js';
import { asPossDup, execIdSeq, lineSeq, type OrderRecord } from '../../exchange/venue/log-lines.js';
import { orderView } from '../../exchange/venue/order-view.js';
import { isWorking } from '../../exchange/venue/orders.js';
import { openReportLog, type ReportLog } from '../../exchange/venue/report-log.js';

// The venue's report log and book without a process: a report is serialised once (the log's
// line is the line a session sends), an order's memory does not grow with its reports, and the
// log answers resends of any seq with the bytes first sent, from memory or from the file.
const WINDOW = 16;
const dirs: string[] = [];
const logs: ReportLog[] = [];

afterEach(async () => {
  for (const log of logs.splice(0)) await log.close();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'venue-log-'));
  dirs.push(dir);
  return dir;
}

/** A book on a log in `dir`; every line appended is recorded, as the book made it. */
async function open(dir: string, windowLines = WINDOW) {
  const appended = new Map<number, string>();
  let log: ReportLog | undefined;
  const book = new Book({
    takeSeq: () => log!.takeSeq(),
    append: (seq, line, orderLine) => {
      appended.set(seq, line);
      log!.append(seq, line, orderLine);
    },
    lineAt: (seq) => log!.lineAt(seq),
  });
  log = await openReportLog(dir, { flushMs: 0, replay: (entry) => book.replay(entry), windowLines });
  logs.push(log);
  return { book, log, appended };
}

const record = (quantity: number): OrderRecord => ({
  order: { id: randomUUID(), type: 'limit', side: 'buy', instrument: 'TESTREF00001', limit_price: '10.00', quantity, time_in_force: 'gtc' },
  accepted_at: new Date().toISOString(),
  expires_at: null,
});

async function fileLines(dir: string): Promise<string[]> {
  return (await readFile(path.join(dir, 'reports.log'), 'utf8')).split(/(?<=\n)/);
}

/** Every report line from..to, read through the log in its chunks, as a session's resend reads them. */
async function readAll(log: ReportLog, from: number, to: number): Promise<string[]> {
  const lines: string[] = [];
  while (from + lines.length <= to) {
    const chunk = await log.read(from + lines.length, to);
    if (chunk.length === 0) break;
    lines.push(...chunk);
  }
  return lines;
}

describe('report log', () => {
  it('writes each report as its wire line, the same bytes the sessions read, and resends any seq byte for byte', async () => {
    const dir = await dataDir();
    const { book, log, appended } = await open(dir);
    const orders = [record(100_000), record(100_000), record(100_000)];
    for (const order of orders) book.accept(order);
    for (let i = 0; i < 1_000; i++) book.fill(orders[i % 3]!.order.id, 1, i % 2 === 0 ? '10.01' : '9.99');
    await log.flush();
    const last = log.nextSeq - 1;
    expect(last).toBe(1_003);

    // The file holds each report's line as the book made it (and one order line before each `new`).
    const reportLines = (await fileLines(dir)).filter((line) => lineSeq(line) > 0);
    expect(reportLines).toEqual([...appended.values()]);
    for (const line of reportLines) {
      const report = venueMessage.parse(JSON.parse(line)) as ExecutionReport;
      expect(line).toBe(encodeLine(report)); // one JSON line, in the protocol's own encoding
      expect(asPossDup(line)).toBe(encodeLine({ ...report, poss_dup: true }));
    }
    // Old seqs come from the file, recent ones from memory: the same bytes either way.
    expect(await readAll(log, 1, last)).toEqual([...appended.values()]);
    expect(await log.read(500, 510)).toEqual([...appended.values()].slice(499, 510));
    expect(await log.read(last - 3, last + 10)).toEqual([...appended.values()].slice(-4));
    expect(log.memory()).toEqual({ window_lines: WINDOW, window_capacity: WINDOW, index_entries: 16 });
  });

  it('keeps an order in a fixed amount of memory however many reports it has', async () => {
    const { book, log } = await open(await dataDir());
    const order = record(1_000_000);
    const id = order.order.id;
    book.accept(order);
    for (let i = 0; i < 10; i++) book.fill(id, 1, '10.00');
    const after10 = serialize(book.get(id)).length;
    for (let i = 0; i < 20_000; i++) book.fill(id, 1, i % 2 === 0 ? '10.00' : '10.01');
    // The same fields, only larger numbers in them (cum 10 → 20,010, the notional's digits).
    expect(serialize(book.get(id)).length - after10).toBeLessThanOrEqual(8);
    expect(book.get(id)).toMatchObject({ cumQty: 20_010, lastSeq: 20_011 });
    expect(book.memory()).toEqual({ orders_working: 1, orders_finished: 0, busted_fills_held: 0 });
    await log.flush();
    expect(log.memory().window_lines).toBe(WINDOW);

    // A finished order keeps only its figures and where its lines are.
    book.end(id, 'cancelled');
    expect(Object.keys(book.get(id)!).sort()).toEqual(['cumQty', 'expiresAt', 'firstSeq', 'id', 'lastSeq', 'notional', 'status']);
    expect(book.memory()).toEqual({ orders_working: 0, orders_finished: 1, busted_fills_held: 0 });
  });

  it('busts a fill read back from the file, once; the control view reads the order and its reports from the log', async () => {
    const dir = await dataDir();
    const { book, log, appended } = await open(dir);
    const order = record(1_000);
    const id = order.order.id;
    book.accept(order);
    const first = book.fill(id, 5, '10.00') as ExecutionReport;
    for (let i = 0; i < 100; i++) book.fill(id, 1, '10.02'); // the first fill leaves the window
    await log.flush();
    expect(execIdSeq(first.exec_id)).toBe(first.seq);
    expect(await book.bust(first.exec_id)).toMatchObject({
      exec_type: 'trade_bust',
      ref_exec_id: first.exec_id,
      last_qty: 5,
      cum_qty: 100,
    });
    expect(await book.bust(first.exec_id)).toBe('not_a_fill');
    expect(await book.bust(`${first.seq.toString(36)}-0`)).toBe('unknown_exec'); // its seq, not its id
    expect(await book.bust('zzzzzz-1')).toBe('unknown_exec');
    expect(book.memory().busted_fills_held).toBe(1);

    const view = await orderView(book, log, id);
    expect(view).toMatchObject({
      order_id: id,
      order: order.order,
      status: 'partially_filled',
      cum_qty: 100,
      leaves_qty: 900,
      avg_px: '10.020000',
    });
    expect(view!.executions.map((report) => encodeLine(report))).toEqual([...appended.values()]);

    book.fill(id, 900, '10.00');
    expect(book.memory()).toEqual({ orders_working: 0, orders_finished: 1, busted_fills_held: 0 });
    const done = await orderView(book, log, id);
    expect(done).toMatchObject({ order: order.order, status: 'filled', cum_qty: 1_000, leaves_qty: 0 });
    expect(done!.executions).toHaveLength(104);
  });

  it('rebuilds orders and numbering after a restart, resends what was sent before it byte for byte, and cuts a torn tail', async () => {
    const dir = await dataDir();
    const before = await open(dir);
    const working = record(50);
    const done = record(3);
    before.book.accept(working);
    before.book.accept(done);
    for (let i = 0; i < 40; i++) before.book.fill(working.order.id, 1, '10.03');
    before.book.fill(done.order.id, 3, '10.00');
    await before.log.close();
    logs.splice(logs.indexOf(before.log), 1);
    // A crash mid-write: an order line whose report never made it, and half a report.
    await appendFile(
      path.join(dir, 'reports.log'),
      `${JSON.stringify({ type: 'order', order_id: randomUUID(), ...record(1) })}\n{"type":"exe`,
    );

    const after = await open(dir);
    expect(after.log.nextSeq).toBe(44);
    expect(after.book.get(working.order.id)).toEqual(before.book.get(working.order.id));
    expect(after.book.get(done.order.id)).toEqual(before.book.get(done.order.id));
    expect(await readAll(after.log, 1, 43)).toEqual([...before.appended.values()]);
    expect((await fileLines(dir)).at(-1)).toBe(before.appended.get(43));
    const next = after.book.fill(working.order.id, 10, '10.00') as ExecutionReport;
    expect(next).toMatchObject({ seq: 44, exec_type: 'fill', cum_qty: 50 });
    await after.log.flush();
    expect((await fileLines(dir)).at(-1)).toBe(after.appended.get(44));
  });

  it('reads a log written before order lines (one {"report","order"} line per report) and appends after it', async () => {
    const dir = await dataDir();
    const order = record(10);
    const report = (seq: number, fields: Partial<ExecutionReport>): ExecutionReport => ({
      type: 'execution_report',
      seq,
      poss_dup: false,
      venue: 'SIMX',
      exec_id: `${seq.toString(36)}-legacy`,
      order_id: order.order.id,
      exec_type: 'new',
      order_status: 'new',
      side: 'buy',
      last_qty: 0,
      last_px: null,
      cum_qty: 0,
      leaves_qty: 10,
      avg_px: null,
      transact_time: new Date().toISOString(),
      ref_exec_id: null,
      text: null,
      ...fields,
    });
    const legacy = [
      report(1, {}),
      report(2, {
        exec_type: 'partial_fill',
        order_status: 'partially_filled',
        last_qty: 4,
        last_px: '10.0000',
        cum_qty: 4,
        leaves_qty: 6,
        avg_px: '10.000000',
      }),
    ];
    await writeFile(
      path.join(dir, 'reports.log'),
      `${JSON.stringify({ report: legacy[0], order })}\n${JSON.stringify({ report: legacy[1] })}\n`,
    );
    const { book, log, appended } = await open(dir);
    expect(book.get(order.order.id)).toMatchObject({ cumQty: 4, firstSeq: 1, lastSeq: 2 });
    expect(await log.read(1, 2)).toEqual(legacy.map((r) => encodeLine(r)));
    expect(await book.bust('2-legacy')).toMatchObject({ seq: 3, cum_qty: 0 });
    await log.flush();
    const reopened = await open(dir, 1); // a window of one: the legacy lines come from the file
    expect(await readAll(reopened.log, 1, 3)).toEqual([...legacy.map((r) => encodeLine(r)), appended.get(3)]);
    const view = await orderView(reopened.book, reopened.log, order.order.id);
    expect(view).toMatchObject({ order: order.order, cum_qty: 0, avg_px: null });
    expect(view!.executions.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(isWorking(reopened.book.get(order.order.id)!)).toBe(true);
  });
});
