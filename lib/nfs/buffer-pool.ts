/**
 * Reply buffers that are used again. A READ reply is as large as the data it
 * carries (up to ~1 MiB); allocating one per reply makes V8 collect garbage
 * every few tens of MiB (its external-memory limit), which cost more CPU
 * than the rest of the client together (measured: 25-30 full collections per
 * 512 MiB read). Callers that hand a reply back when they are done with it
 * (NfsShare.readChunks) get pooled buffers; everything else allocates as
 * usual. A buffer never handed back is simply collected (the pool holds no
 * reference to buffers in use), and the pool then allocates anew.
 */
export class BufferPool {
  private readonly free: Buffer[] = [];
  /** ArrayBuffers that belong to this pool, and those of them now free (against double release). */
  private readonly mine = new WeakSet<ArrayBufferLike>();
  private readonly isFree = new WeakSet<ArrayBufferLike>();

  constructor(
    readonly size: number,
    readonly max: number,
  ) {}

  /** A buffer of exactly `length` bytes: pooled when it fits and the pool has room, else a new one. */
  take(length: number): Buffer {
    if (length > this.size) return Buffer.allocUnsafe(length);
    let base = this.free.pop();
    if (base) this.isFree.delete(base.buffer);
    else if (this.made < this.max) {
      base = Buffer.allocUnsafeSlow(this.size);
      this.mine.add(base.buffer);
      this.made++;
    } else return Buffer.allocUnsafe(length);
    return base.subarray(0, length);
  }

  /** Buffers made so far (those never handed back still count: the pool does not grow past max). */
  private made = 0;

  /** Hands a buffer from take() back; buffers the pool did not make, and second releases, are ignored. */
  release(b: Buffer): void {
    if (!this.mine.has(b.buffer) || this.isFree.has(b.buffer)) return;
    this.isFree.add(b.buffer);
    this.free.push(Buffer.from(b.buffer, 0, this.size));
  }
}
