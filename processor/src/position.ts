// Where the processor is in its stream. Batches are taken in offset order and may finish out of
// order (two are written at once); `next` advances only over a run of finished batches, so every
// offset below it is done: stored, dropped on purpose or dead-lettered. `next` and the fingerprint
// of the message before it are saved in the database as a checkpoint; a restart resumes there and
// anything done twice is a no-op, because a record's identity is fixed (see messageKey).
import type { Checkpoint } from './writers/writer.js';

/** A batch's stretch of the stream. */
export interface Span {
  readonly first: number;
  readonly last: number;
  /** Fingerprint of the message at `last` (see fingerprintOf in consumer.ts). */
  readonly fingerprint: string;
  done: boolean;
}

/**
 * How far past the last offset handed to the database a reservation reaches: `high` is saved before
 * any record above it is written, so after a crash every offset that may have been stored is known
 * (InfluxDB looks those up before writing; the SQL writers take the checked path at once).
 */
export const RESERVATION = 10_000;

export class StreamPosition {
  private spans: Span[] = [];
  private epochValue: number;
  private nextValue: number;
  private fingerprintValue: string;
  private highValue: number;
  /** The highest `high` known to be in the database (the reservations saved so far). */
  private savedHighValue: number;
  /** Highest offset delivered (this process) or possibly stored (a previous one): below it, a re-read. */
  private seenHigh: number;

  constructor(
    readonly stream: string,
    saved: Checkpoint | undefined,
  ) {
    this.epochValue = saved?.epoch ?? 0;
    this.nextValue = saved?.next ?? 0;
    this.fingerprintValue = saved?.fingerprint ?? '';
    this.highValue = saved?.high ?? -1;
    this.savedHighValue = this.highValue;
    this.seenHigh = this.highValue;
  }

  get epoch(): number {
    return this.epochValue;
  }

  /** The first offset not yet done. */
  get next(): number {
    return this.nextValue;
  }

  /** Fingerprint of the message at `next - 1` ('' when nothing is done yet). */
  get fingerprint(): string {
    return this.fingerprintValue;
  }

  /** The identity prefix of this stream's messages in this epoch. */
  get source(): string {
    return `@${this.stream}:${this.epochValue}`;
  }

  /** True when a message at `offset` may have been stored before; notes the offset as seen. */
  seen(offset: number): boolean {
    const again = offset <= this.seenHigh;
    if (offset > this.seenHigh) this.seenHigh = offset;
    return again;
  }

  /** The stream was deleted and made again: its offsets restarted, so its identities need a new epoch. */
  newEpoch(): void {
    this.epochValue++;
    this.nextValue = 0;
    this.fingerprintValue = '';
    this.highValue = -1;
    this.savedHighValue = -1;
    this.seenHigh = -1;
    this.spans = [];
  }

  /** Messages below `offset` left the stream (retention) before they were done: resume at `offset`. */
  skipTo(offset: number): void {
    if (offset > this.nextValue) this.nextValue = offset;
  }

  /** Records a batch taken from the stream (batches are begun in offset order). */
  begin(first: number, last: number, fingerprint: string): Span {
    const span: Span = { first, last, fingerprint, done: false };
    this.spans.push(span);
    return span;
  }

  /** Marks a batch done; returns true when `next` moved. A span dropped by reset() is ignored. */
  finish(span: Span): boolean {
    span.done = true;
    let moved = false;
    while (this.spans.length > 0 && this.spans[0]!.done) {
      const head = this.spans.shift()!;
      if (head.last + 1 > this.nextValue) {
        this.nextValue = head.last + 1;
        this.fingerprintValue = head.fingerprint;
        moved = true;
      }
    }
    return moved;
  }

  /** Forgets the batches in flight (their session ended): the next session reads again from `next`. */
  reset(): void {
    this.spans = [];
  }

  /** True when records up to `last` may not be written before a higher `high` is saved. */
  needsReservation(last: number): boolean {
    return last > this.savedHighValue;
  }

  /** Raises `high` past `last` and returns it; the caller saves the checkpoint, then confirms it. */
  reserve(last: number): number {
    this.highValue = Math.max(this.highValue, last + RESERVATION);
    return this.highValue;
  }

  /** A checkpoint holding `high` is in the database. */
  confirmHigh(high: number): void {
    if (high > this.savedHighValue) this.savedHighValue = high;
  }

  checkpoint(): Checkpoint {
    return { stream: this.stream, epoch: this.epochValue, next: this.nextValue, high: this.highValue, fingerprint: this.fingerprintValue };
  }
}
