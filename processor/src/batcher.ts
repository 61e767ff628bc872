// Collects items into batches bounded by size and time, and hands them to one worker at a time (in
// arrival order), so acknowledgements can use "everything up to this delivery tag".
export interface BatcherOptions<T> {
  readonly maxSize: number;
  readonly maxWaitMs: number;
  readonly handle: (batch: T[]) => Promise<void>;
  readonly onError: (err: unknown) => void;
}

export class Batcher<T> {
  private buffer: T[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: BatcherOptions<T>) {}

  get pending(): number {
    return this.buffer.length;
  }

  add(item: T): void {
    this.buffer.push(item);
    if (this.buffer.length >= this.options.maxSize) this.kick();
    else this.timer ??= setTimeout(() => this.kick(), this.options.maxWaitMs);
  }

  /** Removes buffered items that can no longer be acknowledged (their session is gone). */
  discard(predicate: (item: T) => boolean): void {
    this.buffer = this.buffer.filter((item) => !predicate(item));
  }

  private kick(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running) return; // the worker takes the next batch when it finishes
    this.running = this.work().finally(() => (this.running = undefined));
  }

  private async work(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.splice(0, this.options.maxSize);
      try {
        await this.options.handle(batch);
      } catch (err) {
        this.options.onError(err);
      }
      // A full batch is waiting: take it now. A partial one waits for its timer (or more items).
      if (this.buffer.length < this.options.maxSize) break;
    }
    if (this.buffer.length > 0) this.timer ??= setTimeout(() => this.kick(), this.options.maxWaitMs);
  }

  /** Hands over everything buffered and waits until the worker is idle. */
  async flush(): Promise<void> {
    while (this.running || this.buffer.length > 0) {
      if (!this.running) this.kick();
      await this.running;
    }
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
