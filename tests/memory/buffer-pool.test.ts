import { describe, expect, it } from 'vitest';
import { BufferPool } from '@/lib/memory/buffer-pool';

describe('BufferPool and GrowableBuffer', () => {
  it('hands the same memory out again after release, zeroed', () => {
    const pool = new BufferPool({ initialBytes: 1024, maxFree: 4 });
    const a = pool.acquire();
    a.append(Buffer.from('secret configuration'));
    const memory = a.bytes().buffer;
    const view = a.bytes();
    a.release();
    // What was written is gone from the memory itself, not only from the view.
    expect(view.every((b) => b === 0)).toBe(true);
    const b = pool.acquire();
    expect(b.length).toBe(0);
    b.append(Buffer.from('x'));
    expect(b.bytes().buffer).toBe(memory);
    expect(pool.allocated).toBe(1);
  });

  it('grows keeping what was written; reserve gives exactly the size asked', () => {
    const pool = new BufferPool({ initialBytes: 8 });
    const g = pool.acquire();
    const parts = [Buffer.from('abcdef'), Buffer.from('ghijklmnop'), Buffer.alloc(100, 0x41)];
    for (const p of parts) g.append(p);
    expect(g.bytes().equals(Buffer.concat(parts))).toBe(true);
    expect(g.capacity).toBeGreaterThanOrEqual(116);
    const r = g.reserve(300);
    expect(r.length).toBe(300);
    expect(g.length).toBe(300);
    g.release();
  });

  it('keeps at most maxFree buffers of at most maxKeepBytes, the largest handed out first', () => {
    const pool = new BufferPool({ initialBytes: 16, maxFree: 2, maxKeepBytes: 64 });
    const [a, b, c, big] = [pool.acquire(), pool.acquire(), pool.acquire(), pool.acquire()];
    a.reserve(16);
    b.reserve(40);
    big.reserve(1000);
    for (const g of [a, b, c, big]) g.release();
    expect(pool.freeCount).toBe(2);
    expect(pool.acquire().capacity).toBe(40);
    expect(pool.acquire().capacity).toBe(16);
    expect(pool.allocated).toBe(4);
    pool.acquire();
    expect(pool.allocated).toBe(5);
  });

  it('a writer stops writing once another writer, a reset or the release came', () => {
    const pool = new BufferPool({ initialBytes: 64 });
    const g = pool.acquire();
    const first = g.writer();
    expect(first(Buffer.from('attempt 1 '))).toBe(true);
    const second = g.writer();
    expect(g.length).toBe(0);
    // A late callback of the attempt given up on: refused, nothing mixed in.
    expect(first(Buffer.from('late bytes'))).toBe(false);
    expect(second(Buffer.from('attempt 2'))).toBe(true);
    expect(g.bytes().toString()).toBe('attempt 2');
    g.reset();
    expect(second(Buffer.from('more'))).toBe(false);
    const third = g.writer();
    g.release();
    expect(third(Buffer.from('after release'))).toBe(false);
  });

  it('refuses use after release, and a release twice gives the memory back once', () => {
    const pool = new BufferPool({ initialBytes: 32, maxFree: 4 });
    const g = pool.acquire();
    g.release();
    g.release();
    expect(pool.freeCount).toBe(1);
    expect(() => g.append(Buffer.from('x'))).toThrow(/after release/);
    expect(() => g.bytes()).toThrow(/after release/);
    expect(() => new BufferPool({ initialBytes: 0 })).toThrow(RangeError);
  });
});
