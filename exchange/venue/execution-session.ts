import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeLine } from '../protocol.js';
import type { Faults } from './faults.js';
import { asPossDup } from './log-lines.js';
import type { ReportLog } from './report-log.js';

export interface SessionStats {
  reportsSent: number;
  resent: number;
  heartbeats: number;
}

/** How often a session checks whether it has been idle for a heartbeat interval, and re-checks a hold. */
const CHECK_MS = 50;

/**
 * One execution session on one connection (docs/executions.md): after logon it sends every
 * durable report from the receiver's next_seq on (those before the logon as possible
 * duplicates), then the live tail as the log commits; resend requests are served first; a
 * heartbeat with the next seq goes out when it has been idle. One sender loop per session, so
 * a slow receiver only slows itself (the socket's backpressure is awaited). It sends the log's
 * lines as they are (a report is serialised once, when it is made); a possible duplicate is the
 * same line with poss_dup true.
 */
export class ExecutionSession {
  /** The next seq to send live; everything below it was sent (or skipped by the fault). */
  private cursor = 1;
  /** Reports below this seq existed at logon: a replay, sent as possible duplicates. */
  private liveFrom = 1;
  private readonly resends: [number, number][] = [];
  /** Reports still to be left out of the live stream (the `skip` fault: a gap for the receiver). */
  skip = 0;
  private pumping = false;
  private closed = false;
  private lastSentAt = Date.now();
  private readonly heartbeat: NodeJS.Timeout;

  constructor(
    readonly name: string,
    private readonly socket: Socket,
    private readonly log: ReportLog,
    private readonly faults: Faults,
    private readonly heartbeatMs: number,
    private readonly random: () => number,
    private readonly stats: SessionStats,
  ) {
    this.heartbeat = setInterval(() => this.maybeHeartbeat(), Math.min(CHECK_MS, heartbeatMs));
    socket.once('close', () => this.close());
  }

  logon(nextSeq: number): void {
    this.liveFrom = this.log.nextSeq;
    this.cursor = nextSeq;
    this.send(encodeLine({ type: 'logon_ack', session: this.name, next_seq: this.log.nextSeq }));
    this.pump();
  }

  resend(from: number, to: number): void {
    this.resends.push([from, to]);
    this.pump();
  }

  /** The log committed more reports. */
  notify(): void {
    this.pump();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    this.socket.destroy();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private pump(): void {
    if (this.pumping || this.closed) return;
    this.pumping = true;
    this.run()
      .catch(() => this.close())
      .finally(() => {
        this.pumping = false;
        // A commit that came while the loop was finishing found it still running.
        if (!this.closed && (this.resends.length > 0 || this.cursor <= this.log.durableSeq)) this.pump();
      });
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      if (this.faults.holding(this.log.durableSeq)) {
        await sleep(CHECK_MS);
        continue;
      }
      const range = this.resends[0];
      if (range) {
        const lines = (await this.log.read(range[0], range[1])).map(asPossDup);
        if (lines.length === 0) {
          this.resends.shift();
          continue;
        }
        range[0] += lines.length;
        if (this.faults.reorder) {
          for (let i = 0; i + 1 < lines.length; i += 2) [lines[i], lines[i + 1]] = [lines[i + 1]!, lines[i]!];
        }
        this.stats.resent += lines.length;
        await this.sendLines(lines);
        continue;
      }
      if (this.cursor > this.log.durableSeq) return;
      const from = this.cursor;
      const lines = await this.log.read(from, this.log.durableSeq);
      if (lines.length === 0) return;
      this.cursor = from + lines.length;
      const sent: string[] = [];
      for (const [i, line] of lines.entries()) {
        if (this.skip > 0) this.skip -= 1;
        else sent.push(from + i < this.liveFrom ? asPossDup(line) : line);
      }
      await this.sendLines(sent);
    }
  }

  /** Report lines (each with its newline) in one write; each twice with the duplicates fault's probability. */
  private async sendLines(lines: string[]): Promise<void> {
    if (lines.length === 0) return;
    let text = '';
    for (const line of lines) {
      text += line;
      if (this.faults.duplicates > 0 && this.random() < this.faults.duplicates) text += line;
    }
    this.stats.reportsSent += lines.length;
    await this.sendAndDrain(text);
  }

  private send(line: string): boolean {
    if (this.closed) return true;
    this.lastSentAt = Date.now();
    return this.socket.write(line);
  }

  private async sendAndDrain(text: string): Promise<void> {
    if (this.send(text)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  private maybeHeartbeat(): void {
    if (this.closed || this.pumping || this.resends.length > 0) return;
    if (Date.now() - this.lastSentAt < this.heartbeatMs) return;
    if (this.faults.holding(this.log.durableSeq)) return;
    this.stats.heartbeats += 1;
    this.send(encodeLine({ type: 'heartbeat', next_seq: Math.max(1, this.cursor) }));
  }
}
