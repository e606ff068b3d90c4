import { Nfs4StatusError } from '@/lib/nfs/nfs4-status';
import { decodeReply, RpcError } from '@/lib/nfs/rpc-message';
import { XdrError } from '@/lib/nfs/xdr-reader';
import { XdrWriter } from '@/lib/nfs/xdr-writer';
import { acceptedReply, runScenario, scenarios, xorshift, type Scenario } from './replies';

/**
 * The fuzz cases of fuzz.test.ts, run in a worker thread (in-worker.ts) so
 * that a decode that never returns fails the test instead of freezing it.
 * Every case is a reply record fed to decodeReply and then to the Compound
 * of one of the scenarios in replies.ts; it must decode or throw XdrError,
 * Nfs4StatusError or RpcError. Deterministic: one seed, xorshift.
 */
export type FuzzReport = {
  cases: number;
  /** How many cases ended how: ok, XdrError, Nfs4StatusError, RpcError. */
  outcomes: Record<string, number>;
  /** Cases that threw anything else (the first 20). */
  unexpected: { label: string; name: string; message: string; hex: string }[];
  /** Valid replies cut short that did not end in XdrError (the first 20). */
  truncatedNotRefused: { label: string; outcome: string }[];
};

const XID = 0x0badcafe;

/** Words a hostile server puts where a length or a count goes. */
const HUGE = [0xffffffff, 0xfffffffd, 0xfffffffc, 0x80000000, 0x7fffffff, 0x7ffffffd, 0x10000000, 0x00100001, 0x00010000];

export function runFuzz(seed: number, progress: (label: string) => void = () => undefined): FuzzReport {
  const next = xorshift(seed);
  const report: FuzzReport = { cases: 0, outcomes: {}, unexpected: [], truncatedNotRefused: [] };

  const attempt = (sc: Scenario, record: Buffer, label: string): string => {
    report.cases++;
    let outcome: string;
    try {
      runScenario(sc, decodeReply(record));
      outcome = 'ok';
    } catch (err) {
      if (err instanceof XdrError || err instanceof Nfs4StatusError || err instanceof RpcError) outcome = err.name;
      else {
        const e = err as Error;
        if (report.unexpected.length < 20) report.unexpected.push({ label, name: e?.name ?? typeof err, message: String(e?.message ?? err), hex: record.toString('hex') });
        outcome = 'unexpected';
      }
    }
    report.outcomes[outcome] = (report.outcomes[outcome] ?? 0) + 1;
    return outcome;
  };

  const randomBytes = (n: number) => {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = next() & 0xff;
    return b;
  };

  for (const [i, sc] of scenarios.entries()) {
    const valid = acceptedReply(XID, sc.body);
    const ops = sc.build();
    const opCount = ops.c.ops.length + (ops.first ? 1 : 0);

    progress(`${sc.name}: random bytes`);
    for (let k = 0; k < 150; k++) {
      const tail = randomBytes(next() % 160);
      // Plain random bytes; behind a valid RPC header; behind a COMPOUND header announcing the right number of results.
      const compoundHead = new XdrWriter(16).u32(next() % 4 === 0 ? next() % 20000 : 0).string('').u32(opCount).finish();
      attempt(sc, tail, `${i} random ${k}`);
      attempt(sc, acceptedReply(XID, tail), `${i} rpc+random ${k}`);
      attempt(sc, acceptedReply(XID, Buffer.concat([compoundHead, tail])), `${i} compound+random ${k}`);
      // A valid prefix (a few operations' results) followed by random bytes.
      const cut = 24 + 4 * (next() % Math.max(1, (valid.length - 24) >> 2));
      attempt(sc, Buffer.concat([valid.subarray(0, cut), tail]), `${i} prefix ${cut}+random ${k}`);
    }

    progress(`${sc.name}: truncated`);
    for (let n = 0; n < valid.length; n++) {
      const outcome = attempt(sc, valid.subarray(0, n), `${i} truncated at ${n}`);
      if (outcome !== 'XdrError' && report.truncatedNotRefused.length < 20) report.truncatedNotRefused.push({ label: `${sc.name}: cut at ${n} of ${valid.length}`, outcome });
    }

    progress(`${sc.name}: bytes changed`);
    for (let k = 0; k < 250; k++) {
      const bad = Buffer.from(valid);
      const flips = 1 + (next() % 4);
      for (let f = 0; f < flips; f++) {
        const at = next() % bad.length;
        bad[at] = next() % 3 === 0 ? bad[at]! ^ (1 << (next() % 8)) : next() & 0xff;
      }
      attempt(sc, bad, `${i} changed ${k}`);
    }

    progress(`${sc.name}: huge lengths and counts`);
    for (let at = 0; at + 4 <= valid.length; at += 4) {
      for (const word of [...HUGE, valid.length - at + 1, valid.length - at - 3]) {
        const bad = Buffer.from(valid);
        bad.writeUInt32BE(word >>> 0, at);
        attempt(sc, bad, `${i} word ${at} = ${word}`);
      }
    }
  }
  return report;
}
