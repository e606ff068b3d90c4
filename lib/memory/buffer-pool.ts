/**
 * Reusable buffers for work that repeats with data of about the same size,
 * such as a fleet run: every device's configuration is read whole into
 * memory, encrypted whole and uploaded, 16 devices at a time.
 *
 * Why: a Buffer that lives across a few event-loop turns (an export is held
 * while it is checked, encrypted and uploaded) is promoted to V8's old
 * generation, and its memory is given back only at the next full collection,
 * which V8 runs once about 64 MiB of such memory has built up. Fresh buffers
 * per device therefore make a long run's peak memory grow with its length
 * until that point. Buffers taken from a pool and given back are reused
 * instead, so the memory in use is bounded by the work in flight, not by how
 * many items a run has done.
 *
 * A GrowableBuffer is written by append() (or sized once by reserve()); its
 * bytes are `bytes()`, a view that is valid until the next append, reserve,
 * reset or release. writer() empties it and hands out an append function
 * that stops writing as soon as anyone else writes to, empties or releases
 * the buffer: a late callback of an attempt given up on (a session that
 * still delivers data after it was destroyed) cannot mix its bytes into the
 * next attempt's. release() zeroes what was written (the contents may be
 * secrets, such as a device's configuration) and gives the memory back to
 * the pool, which keeps at most `maxFree` buffers of at most `maxKeepBytes`
 * each; a buffer that grew beyond that is left to the garbage collector.
 */

export type BufferPoolOptions = {
  /** Capacity of a new buffer. */
  initialBytes?: number;
  /** Buffers kept for reuse at most; more are dropped on release. */
  maxFree?: number;
  /** A buffer that grew beyond this is not kept. */
  maxKeepBytes?: number;
};

export class GrowableBuffer {
  private buf: Buffer;
  private used = 0;
  private released = false;
  /** Bumped by every writer(), reset() and release(): an older writer's appends are refused. */
  private generation = 0;

  constructor(
    initial: Buffer,
    private readonly pool?: BufferPool,
  ) {
    this.buf = initial;
  }

  get length(): number {
    return this.used;
  }

  get capacity(): number {
    return this.buf.length;
  }

  /** The bytes written so far: a view, valid until the buffer is written, reset or released. */
  bytes(): Buffer {
    this.check();
    return this.buf.subarray(0, this.used);
  }

  append(chunk: Uint8Array): void {
    this.check();
    this.ensure(this.used + chunk.length, true);
    this.buf.set(chunk, this.used);
    this.used += chunk.length;
  }

  /** Empties the buffer and answers an append that writes only while no later writer, reset or release came; false once refused. */
  writer(): (chunk: Uint8Array) => boolean {
    this.reset();
    const mine = this.generation;
    return (chunk) => {
      if (this.released || this.generation !== mine) return false;
      this.append(chunk);
      return true;
    };
  }

  /** Exactly `size` bytes to fill in place (previous contents are not kept). */
  reserve(size: number): Buffer {
    this.check();
    this.generation++;
    this.used = 0;
    this.ensure(size, false);
    this.used = size;
    return this.buf.subarray(0, size);
  }

  /** Empty again, the memory kept (zeroed: it may have held secrets). */
  reset(): void {
    this.check();
    this.generation++;
    this.buf.fill(0, 0, this.used);
    this.used = 0;
  }

  /** Zeroes what was written and gives the memory back; the buffer must not be used again. */
  release(): void {
    if (this.released) return;
    this.buf.fill(0, 0, this.used);
    this.used = 0;
    this.released = true;
    this.generation++;
    this.pool?.giveBack(this.buf);
  }

  private ensure(size: number, keep: boolean): void {
    if (size <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(size, this.buf.length * 2));
    if (keep) this.buf.copy(grown, 0, 0, this.used);
    this.buf.fill(0, 0, this.used);
    this.buf = grown;
  }

  private check(): void {
    if (this.released) throw new Error('GrowableBuffer used after release()');
  }
}

export class BufferPool {
  private readonly free: Buffer[] = [];
  readonly initialBytes: number;
  readonly maxFree: number;
  readonly maxKeepBytes: number;
  /** Buffers made because none was free: a measure of how well the pool is sized. */
  allocated = 0;

  constructor(opts: BufferPoolOptions = {}) {
    this.initialBytes = opts.initialBytes ?? 256 * 1024;
    this.maxFree = opts.maxFree ?? 32;
    this.maxKeepBytes = opts.maxKeepBytes ?? 8 * 1024 * 1024;
    if (!(this.initialBytes > 0 && this.initialBytes <= this.maxKeepBytes)) throw new RangeError('initialBytes must be above 0 and at most maxKeepBytes');
  }

  /** A buffer to write; the largest free one, else a new one of initialBytes. */
  acquire(): GrowableBuffer {
    const b = this.free.pop();
    if (b) return new GrowableBuffer(b, this);
    this.allocated++;
    return new GrowableBuffer(Buffer.allocUnsafe(this.initialBytes), this);
  }

  get freeCount(): number {
    return this.free.length;
  }

  /** Called by GrowableBuffer.release() with zeroed memory. */
  giveBack(b: Buffer): void {
    if (b.length > this.maxKeepBytes || this.free.length >= this.maxFree) return;
    // Kept in ascending size, so that acquire() hands out the largest first.
    let i = this.free.length;
    while (i > 0 && this.free[i - 1]!.length > b.length) i--;
    this.free.splice(i, 0, b);
  }

  /** Drops every free buffer (the memory goes at the next collection). */
  clear(): void {
    this.free.length = 0;
  }
}
