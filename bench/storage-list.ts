/**
 * Listing a folder of 10,000 files on an NFS export through the console's
 * storage API (GET /api/storage/browse of the built console, over HTTP, as
 * the Browse Storage dialog asks), against libnfs' `nfs-ls` of the same
 * folder, side by side in one run on the same nfs-ganesha export:
 *   baseline     nfs-ls nfs://…/export/big (NFSv3 READDIRPLUS; a process per listing),
 *                the folder changed just before like for the console (ganesha then reads it again)
 *   whole list   the whole folder in one request (limit=10000), the folder
 *                changed just before, so the console lists it afresh; for
 *                reference, also every page of it at limit=1000
 *   dialog       every page as the dialog loads them (limit=100), folder changed
 *   first page   the dialog's first page (limit=100): the folder changed just
 *                before and read again before the answer (the API's default);
 *                unchanged since the last listing (warm: the console keeps a
 *                listing while the folder's modification time stays the
 *                same); changed just before, asked as the dialog asks
 *                (kept=1: the kept listing at once, marked stale, while the
 *                folder is read again), and the time until the dialog has
 *                the new listing (that answer, then the page asked again)
 * Pages after the first come from the first page's listing (its id is in the
 * cursor), without a round trip to the NFS server.
 * The console's NFS session is opened once before the rounds (as nfs-ls
 * mounts each time, the console keeps its session open between requests).
 * Prints medians and the issue's two ratios: the whole list (one request for
 * the whole folder, as nfs-ls lists it in one process) / nfs-ls (target: at
 * most 1), and the dialog's first page / the whole list (target: under 0.1).
 * For reference it also prints what paging costs (pages of 1000 and of 100:
 * every request costs ~5 ms here end to end) and a fresh first page of a
 * changed folder, which a sorted page cannot have before the whole folder
 * is read. BENCH_LIST_FILES (default 10000) and BENCH_ROUNDS (default 5) tune it.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startConsole } from '../tests/helpers/console-server';
import { ConsoleClient } from '../tests/helpers/http-client';
import { NfsShare } from '../lib/nfs/nfs-share';
import { startNfsServer } from '../tests/helpers/nfs-server';

const FILES = Number(process.env.BENCH_LIST_FILES ?? 10_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timed(fn: () => Promise<unknown> | unknown): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function main() {
  if (!fs.existsSync('.next/BUILD_ID')) execFileSync('npx', ['next', 'build'], { stdio: 'inherit' });
  const nfs = await startNfsServer();
  const server = await startConsole();
  try {
    const dir = path.join(nfs.exportDir, 'big');
    fs.mkdirSync(dir);
    for (let i = 0; i < FILES; i++) fs.writeFileSync(path.join(dir, `config-${String(i).padStart(5, '0')}.json`), '{}');
    const otp = new ConsoleClient(server.url);
    if (!(await otp.signIn('otp', server.otpPassword!)).ok) throw new Error('OTP sign-in failed');
    const password = 'bench password 0001';
    await otp.json('/api/users', 'POST', { username: 'bench', password, confirmPassword: password, role: 'support' });
    const api = new ConsoleClient(server.url);
    if (!(await api.signIn('bench', password)).ok) throw new Error('sign-in failed');
    const url = nfs.url('4.1', 'big');

    const page = async (limit: number, cursor?: string, kept = false) => {
      const q = new URLSearchParams({ url, limit: String(limit), ...(cursor ? { cursor } : {}), ...(kept ? { kept: '1' } : {}) });
      const r = await api.json<{ entries: unknown[]; total: number; nextCursor: string | null; stale: boolean }>(`/api/storage/browse?${q}`);
      if (r.status !== 200) throw new Error(`browse answered ${r.status}: ${JSON.stringify(r.body)}`);
      return r.body;
    };
    // Every page of the folder, `limit` at a time (1000: an API client; 100: the dialog as its list is scrolled).
    const allPages = (limit: number) => async () => {
      let n = 0;
      let cursor: string | undefined;
      do {
        const p = await page(limit, cursor);
        n += p.entries.length;
        cursor = p.nextCursor ?? undefined;
      } while (cursor);
      if (n !== FILES) throw new Error(`the API listed ${n} of ${FILES}`);
    };
    const wholeList = allPages(1000);
    const wholeDialog = allPages(100);
    const wholeOnce = async () => {
      const p = await page(FILES);
      if (p.entries.length !== FILES || p.nextCursor) throw new Error(`the API listed ${p.entries.length} of ${FILES} at once`);
    };
    // A change to the folder, made through NFS (ganesha caches what it serves: a change behind its back
    // would not be seen), so the next listing cannot be the one the console kept.
    const share = await NfsShare.open(nfs.url('4.1', 'big'));
    const touch = async () => {
      const w = await share.createFile('.touch');
      await w.commit();
      await share.remove('.touch');
    };
    // For reference: lib/nfs listing the folder in this process, without the console's HTTP, sorting and JSON.
    const libList = async () => {
      const n = (await share.list('')).filter((e) => e.name.startsWith('config-')).length;
      if (n !== FILES) throw new Error(`lib/nfs listed ${n} of ${FILES}`);
    };
    const nfsLs = () => {
      const out = execFileSync('nfs-ls', [nfs.v3url('big')], { encoding: 'utf8', maxBuffer: 64 << 20 });
      const n = out.split('\n').filter((l) => l.includes('config-')).length;
      if (n !== FILES) throw new Error(`nfs-ls listed ${n} of ${FILES}`);
    };

    // Warm-up: the console's NFS session, ganesha's attribute cache, nfs-ls' binary in the page cache.
    await wholeList();
    nfsLs();

    const t = { nfsLs: [] as number[], libList: [] as number[], whole: [] as number[], wholeOnce: [] as number[], wholeDialog: [] as number[], firstCold: [] as number[], firstWarm: [] as number[], firstKept: [] as number[], dialogFresh: [] as number[] };
    // The dialog's first page after a change: the kept listing, which must be said to be stale.
    const keptPage = async () => {
      const p = await page(100, undefined, true);
      if (!p.stale) throw new Error('the first page after a change was not marked stale');
    };
    for (let r = 0; r < ROUNDS; r++) {
      const steps: [keyof typeof t, () => Promise<unknown> | unknown][] = [
        ['nfsLs', nfsLs],
        ['libList', libList],
        ['whole', wholeList],
        ['wholeOnce', wholeOnce],
        ['wholeDialog', wholeDialog],
      ];
      for (const [name, fn] of r % 2 ? steps.reverse() : steps) {
        await touch();
        t[name].push(await timed(fn));
      }
      await touch();
      t.firstCold.push(await timed(() => page(100)));
      t.firstWarm.push(await timed(() => page(100)));
      await touch();
      t.firstKept.push(await timed(keptPage));
      await page(100); // the reading begun in the background, done before the next step
      await touch();
      t.dialogFresh.push(
        await timed(async () => {
          await keptPage();
          await page(100);
        }),
      );
    }
    const m = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, median(v)])) as Record<keyof typeof t, number>;
    console.log(`Listing ${FILES} files on an NFS export (nfs-ganesha on loopback), median of ${ROUNDS} rounds:`);
    console.log(`  baseline nfs-ls (NFSv3, a process each):       ${m.nfsLs.toFixed(1)} ms`);
    console.log(`  reference: lib/nfs list in this process (no HTTP, no sort, no JSON): ${m.libList.toFixed(1)} ms   ratio to nfs-ls ${(m.libList / m.nfsLs).toFixed(2)}`);
    console.log(`  console API, whole list in one request:        ${m.wholeOnce.toFixed(1)} ms   ratio to nfs-ls ${(m.wholeOnce / m.nfsLs).toFixed(2)} (target <= 1)`);
    console.log(`  for reference, the whole list in 10 pages of 1000: ${m.whole.toFixed(1)} ms   ratio to nfs-ls ${(m.whole / m.nfsLs).toFixed(2)}`);
    console.log(`  for reference, as the dialog loads it (100 pages of 100): ${m.wholeDialog.toFixed(1)} ms   ratio to nfs-ls ${(m.wholeDialog / m.nfsLs).toFixed(2)}`);
    console.log(`  for reference, first page of 100, folder changed, read before the answer (the API's default; a sorted page needs the whole folder): ${m.firstCold.toFixed(1)} ms   ratio to the whole list in one request ${(m.firstCold / m.wholeOnce).toFixed(2)}`);
    console.log(`  console API, first page of 100, folder changed, as the dialog asks (kept listing at once, marked stale): ${m.firstKept.toFixed(1)} ms   ratio to the whole list in one request ${(m.firstKept / m.wholeOnce).toFixed(2)} (target < 0.1)`);
    console.log(`    then the new listing's first page in the dialog (that answer, then the page asked again): ${m.dialogFresh.toFixed(1)} ms   ratio ${(m.dialogFresh / m.wholeOnce).toFixed(2)}`);
    console.log(`  console API, first page of 100, folder as kept: ${m.firstWarm.toFixed(1)} ms   ratio to the whole list in one request ${(m.firstWarm / m.wholeOnce).toFixed(2)}, in the dialog's pages ${(m.firstWarm / m.wholeDialog).toFixed(2)} (target < 0.1)`);
  } finally {
    await server.stop();
    await nfs.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
