import { describe, expect, it } from 'vitest';
import { BufferPool } from '@/lib/nfs/buffer-pool';

describe('BufferPool', () => {
  it('hands out buffers of the asked length and uses a released one again', () => {
    const pool = new BufferPool(1024, 2);
    const a = pool.take(100);
    expect(a.length).toBe(100);
    pool.release(a);
    const b = pool.take(1000);
    expect(b.length).toBe(1000);
    expect(b.buffer).toBe(a.buffer);
  });

  it('never hands out one buffer twice: a second release and foreign buffers are ignored', () => {
    const pool = new BufferPool(64, 4);
    const a = pool.take(10);
    pool.release(a);
    pool.release(a);
    pool.release(Buffer.alloc(64));
    const b = pool.take(10);
    const c = pool.take(10);
    expect(b.buffer).toBe(a.buffer);
    expect(c.buffer).not.toBe(b.buffer);
  });

  it('allocates outside the pool past its size or its count, and those buffers never enter it', () => {
    const pool = new BufferPool(64, 1);
    const big = pool.take(65);
    expect(big.length).toBe(65);
    const first = pool.take(64);
    const second = pool.take(64);
    expect(second.buffer).not.toBe(first.buffer);
    pool.release(second);
    pool.release(big);
    // Only the pool's own buffer comes back.
    pool.release(first);
    expect(pool.take(8).buffer).toBe(first.buffer);
    // The pool is empty and at its count: a fresh buffer, not its own again.
    expect(pool.take(8).buffer).not.toBe(first.buffer);
  });
});
