import { XdrWriter } from '@/lib/nfs/xdr-writer';

/**
 * XdrWriter.opaqueRef() against opaque(), for xdr.test.ts (run in a worker:
 * a writer whose buffer never grows would loop forever). For every initial
 * buffer size, number of words before the payload and payload length, the
 * same message written both ways, as hex.
 */
export type OpaqueRefCase = { label: string; copied: string; referenced: string; segments: string; lengths: [number, number]; payloadIsASegment: boolean };

export function opaqueRefCases(_arg: unknown, progress: (label: string) => void): OpaqueRefCase[] {
  const out: OpaqueRefCase[] = [];
  for (const initial of [0, 1, 4, 8, 12, 16, 64]) {
    for (let words = 0; words <= 4; words++) {
      for (let n = 0; n <= 9; n++) {
        const label = `new XdrWriter(${initial}), ${words} words, ${n} bytes by reference`;
        progress(label);
        const payload = Buffer.alloc(n, 0xa5);
        const write = (ref: boolean) => {
          const w = new XdrWriter(initial);
          for (let i = 0; i < words; i++) w.u32(0x01010101 * (i + 1));
          if (ref) w.opaqueRef(payload);
          else w.opaque(payload);
          w.u32(0xfeedface).string('end');
          return w;
        };
        const copied = write(false);
        const referenced = write(true);
        out.push({
          label,
          copied: copied.finish().toString('hex'),
          referenced: referenced.finish().toString('hex'),
          segments: Buffer.concat(referenced.segments()).toString('hex'),
          lengths: [copied.length, referenced.length],
          payloadIsASegment: referenced.segments().includes(payload),
        });
      }
    }
  }
  return out;
}
