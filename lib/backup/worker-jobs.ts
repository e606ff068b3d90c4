import crypto from 'node:crypto';
import { ChunkLayout, ChunkReader, openChunksStartingIn, sealChunksInto } from '../age/chunks';
import { AgePayloadError } from '../age/errors';
import { CHUNK_SIZE } from '../age/format';
import type { MemberSpan, SessionKind, WorkerFailure, WorkerReply, WorkerRequest, WorkerValue } from './worker-protocol';

/**
 * What a backup worker thread does (protocol: worker-protocol.ts), as plain
 * functions and one class with no thread of its own: worker-thread.ts feeds
 * it the thread's messages, and tests call it directly. Everything is
 * synchronous: a job runs to its end before the next message is read, so a
 * worker's jobs run in the order they were posted.
 */

const asBuffer = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/** Member hashes over the archive's layout: `ranges` are each member's [start, end) in the archive, in order. */
export type MemberRangesHash = { ranges: [number, number][]; next: number; hash: crypto.Hash | null; digests: string[]; upTo: number };

export function memberRangesHash(ranges: [number, number][], from: number): MemberRangesHash {
  return { ranges, next: 0, hash: null, digests: [], upTo: from };
}

/**
 * Hashes the members' bytes in `slot`, which holds the archive's bytes
 * [at, at + slot.length): slots come in order and contiguous. A member's
 * digest is taken once its last byte has been seen (a member of 0 bytes at
 * once, when the slots reach it).
 */
export function hashSlot(h: MemberRangesHash, slot: Buffer, at: number): void {
  const end = at + slot.length;
  if (at !== h.upTo) throw new Error('slots out of order');
  while (h.next < h.ranges.length) {
    const [s, e] = h.ranges[h.next]!;
    if (s > end || (e > s && s >= end)) break;
    h.hash ??= crypto.createHash('sha256');
    const from = Math.max(s, at);
    const to = Math.min(e, end);
    if (to > from) h.hash.update(slot.subarray(from - at, to - at));
    if (e > end) break;
    h.digests.push(h.hash.digest('hex'));
    h.hash = null;
    h.next++;
  }
  h.upTo = end;
}

/** Member hashes from spans the main thread found (verify: it reads the tar headers); digests in member order. */
export class SpanHash {
  private hash: crypto.Hash | null = null;

  /** Hashes `bytes` into the current member; answers its digest when the member `ends` here. */
  feed(bytes: Buffer, ends: boolean): string | null {
    this.hash ??= crypto.createHash('sha256');
    this.hash.update(bytes);
    if (!ends) return null;
    const hex = this.hash.digest('hex');
    this.hash = null;
    return hex;
  }
}

/** The SHA-256 of a file fed from offset 0 in order. */
export class FileHash {
  private readonly hash = crypto.createHash('sha256');
  private upTo = 0;

  feed(piece: Buffer, at: number): void {
    if (at !== this.upTo) throw new Error('the file is hashed in order');
    this.hash.update(piece);
    this.upTo += piece.length;
  }

  end(): string {
    return this.hash.digest('hex');
  }
}

type ReadSession =
  | { kind: 'hash'; hash: FileHash }
  | { kind: 'verify'; reader: ChunkReader }
  | { kind: 'chunks'; key: Buffer; layout: ChunkLayout }
  | { kind: 'members'; spans: SpanHash }
  /** A session that could not start (a file shorter than its header): it fails at its first job. */
  | { kind: SessionKind; error: unknown };

function failure(err: unknown): WorkerFailure {
  const e = err as Error & { code?: string };
  if (err instanceof AgePayloadError) return { error: err.message, payload: { reason: err.reason, chunk: err.chunk } };
  return { error: e?.message ?? String(err), code: e?.code };
}

export class WorkerJobs {
  private input: Buffer | null = null;
  private output: Buffer | null = null;
  private inSlotSize = 0;
  private outSlotSize = 0;
  private ring: Buffer | null = null;
  private slotSize = 0;
  private plain: Buffer | null = null;
  private plainSlotSize = 0;
  private readonly memberHashes = new Map<number, MemberRangesHash>();
  private readonly sealers = new Map<number, { key: Buffer; lastChunk: number }>();
  private readonly reads = new Map<number, ReadSession>();
  private readonly streams = new Map<number, crypto.Hash>();

  /** Runs one message; answers what to post back, if anything. */
  handle(m: WorkerRequest): WorkerReply | null {
    switch (m.op) {
      case 'attach':
        this.input = Buffer.from(m.input);
        this.output = Buffer.from(m.output);
        this.inSlotSize = m.slotSize;
        this.outSlotSize = m.outSlotSize;
        return null;
      case 'hashBegin':
        this.memberHashes.set(m.session, memberRangesHash(m.ranges, m.from));
        return null;
      case 'hashSlot':
        return this.answer(m.id, () => hashSlot(this.session(this.memberHashes, m.session), this.inputSlot(m.slot, m.length), m.at));
      case 'hashEnd':
        return this.answer(m.id, () => {
          const h = this.session(this.memberHashes, m.session);
          this.memberHashes.delete(m.session);
          if (h.next !== h.ranges.length) throw new Error('the archive ended before every member was hashed');
          return h.digests;
        });
      case 'encryptBegin':
        this.sealers.set(m.session, { key: asBuffer(m.key), lastChunk: m.lastChunk });
        return null;
      case 'encryptSlot':
        return this.answer(m.id, () => {
          const e = this.session(this.sealers, m.session);
          return sealChunksInto(e.key, this.inputSlot(m.slot, m.length), this.output!, m.slot * this.outSlotSize, m.at / CHUNK_SIZE, e.lastChunk);
        });
      case 'end':
        this.sealers.delete(m.session);
        return null;
      case 'rbAttach':
        this.ring = Buffer.from(m.ring);
        this.slotSize = m.slotSize;
        this.plain = m.plain ? Buffer.from(m.plain) : null;
        this.plainSlotSize = m.plainSlotSize ?? 0;
        return null;
      case 'rbBegin':
        this.reads.set(m.session, this.readSession(m));
        return null;
      case 'rbWindow':
        return this.answer(m.id, () => this.readWindow(this.session(this.reads, m.session), m.slot, m.at, m.length));
      case 'rbChunks':
        return this.answer(m.id, () => {
          const r = this.session(this.reads, m.session);
          if ('error' in r) throw r.error;
          if (r.kind !== 'chunks') throw new Error('not a chunks session');
          if (!this.ring || !this.plain || m.available > this.slotSize || m.length > m.available) throw new Error('no such window');
          const bytes = this.ring.subarray(m.slot * this.slotSize, m.slot * this.slotSize + m.available);
          if (this.plainSlotSize < m.length + CHUNK_SIZE) throw new Error('plain slots too small');
          return openChunksStartingIn(r.key, r.layout, bytes, m.at, m.length, this.plain, m.slot * this.plainSlotSize);
        });
      case 'rbMembers':
        return this.answer(m.id, () => {
          const r = this.session(this.reads, m.session);
          if ('error' in r) throw r.error;
          if (r.kind !== 'members') throw new Error('not a members session');
          return this.memberSpans(r.spans, m.slot, m.spans);
        });
      case 'rbEnd': {
        const r = this.reads.get(m.session);
        this.reads.delete(m.session);
        return this.answer(m.id, () => {
          if (!r) throw new Error('no such session');
          if ('error' in r) throw r.error;
          if (r.kind === 'hash') return r.hash.end();
          if (r.kind === 'members' || r.kind === 'chunks') return undefined;
          return r.reader.end();
        });
      }
      case 'open':
        this.streams.set(m.id, crypto.createHash('sha256'));
        return null;
      case 'update':
        this.streams.get(m.id)!.update(m.data);
        return { id: m.id, ack: m.data.length };
      case 'digest': {
        const h = this.streams.get(m.id)!;
        this.streams.delete(m.id);
        return { id: m.id, value: h.digest('hex') };
      }
    }
  }

  private answer(id: number, run: () => WorkerValue | void): WorkerReply {
    try {
      return { id, value: run() ?? undefined };
    } catch (err) {
      return { id, ...failure(err) };
    }
  }

  private session<T>(map: Map<number, T>, session: number): T {
    const s = map.get(session);
    if (s === undefined) throw new Error('no such session');
    return s;
  }

  private inputSlot(slot: number, length: number): Buffer {
    if (!this.input || length > this.inSlotSize) throw new Error('no such input slot');
    return this.input.subarray(slot * this.inSlotSize, slot * this.inSlotSize + length);
  }

  private readSession(m: Extract<WorkerRequest, { op: 'rbBegin' }>): ReadSession {
    try {
      switch (m.kind) {
        case 'hash':
          return { kind: 'hash', hash: new FileHash() };
        case 'members':
          return { kind: 'members', spans: new SpanHash() };
        case 'verify':
          return { kind: 'verify', reader: new ChunkReader(m.offset ?? 0, asBuffer(m.key ?? new Uint8Array(32)), m.size ?? 0) };
        case 'chunks':
          return { kind: 'chunks', key: asBuffer(m.key ?? new Uint8Array(32)), layout: new ChunkLayout(m.offset ?? 0, m.size ?? 0) };
      }
    } catch (error) {
      return { kind: m.kind, error };
    }
  }

  private readWindow(r: ReadSession, slot: number, at: number, length: number): undefined {
    if ('error' in r) throw r.error;
    if (!this.ring || length > this.slotSize) throw new Error('no such window');
    const piece = this.ring.subarray(slot * this.slotSize, slot * this.slotSize + length);
    switch (r.kind) {
      case 'hash':
        r.hash.feed(piece, at);
        return undefined;
      case 'verify':
        r.reader.feed(piece, at);
        return undefined;
      case 'members':
      case 'chunks':
        throw new Error(`a ${r.kind} session takes other jobs`);
    }
  }

  private memberSpans(hash: SpanHash, slot: number, spans: MemberSpan[]): string[] {
    if (!this.plain) throw new Error('no plain ring attached');
    const base = slot * this.plainSlotSize;
    const digests: string[] = [];
    for (const [start, end, ends] of spans) {
      if (start < 0 || end < start || end > this.plainSlotSize) throw new Error('a span outside its slot');
      const hex = hash.feed(this.plain.subarray(base + start, base + end), ends);
      if (hex !== null) digests.push(hex);
    }
    return digests;
  }
}
