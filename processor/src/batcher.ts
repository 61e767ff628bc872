// Collects items into batches bounded by size and time and hands them to at most `concurrency`
// workers at once, in arrival order (the caller keeps acknowledgements in that order).
export interface BatcherOptions<T> {
  readonly maxSize: number;
  readonly maxWaitMs: number;
  /** Batches handled at the same time: 2 lets one batch be prepared while another is written. */
  readonly concurrency: number;
  readonly handle: (batch: T[]) => Promise<void>;
  readonly onError: (err: unknown) => void;
}

export class Batcher<T> {
  private buffer: T[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly jobs = new Set<Promise<void>>();

  constructor(private readonly options: BatcherOptions<T>) {}

  get pending(): number {
    return this.buffer.length;
  }

  add(item: T): void {
    this.buffer.push(item);
    if (this.buffer.length >= this.options.maxSize) this.pump(false);
    else this.arm();
  }

  /** Removes buffered items that can no longer be acknowledged (their session is gone). */
  discard(predicate: (item: T) => boolean): void {
    this.buffer = this.buffer.filter((item) => !predicate(item));
  }

  private arm(): void {
    if (this.buffer.length > 0) {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.pump(true);
      }, this.options.maxWaitMs);
    }
  }

  /** Starts workers on full batches (and on a partial one when its time is up) while there is room. */
  private pump(partial: boolean): void {
    const { maxSize, concurrency } = this.options;
    while (this.jobs.size < concurrency && (this.buffer.length >= maxSize || (partial && this.buffer.length > 0))) {
      const batch = this.buffer.splice(0, maxSize);
      const job: Promise<void> = this.options
        .handle(batch)
        .catch((err: unknown) => this.options.onError(err))
        .finally(() => {
          this.jobs.delete(job);
          this.pump(false);
          this.arm();
        });
      this.jobs.add(job);
    }
    if (this.buffer.length === 0) {
      clearTimeout(this.timer);
      this.timer = undefined;
    } else this.arm();
  }

  /** Hands over everything buffered and waits until every worker is idle. */
  async flush(): Promise<void> {
    while (this.jobs.size > 0 || this.buffer.length > 0) {
      this.pump(true);
      await Promise.race(this.jobs);
    }
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
