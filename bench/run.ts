/** npm run bench: every benchmark, one after the other. */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const BENCHES = ['backup-throughput.ts', 'nfs-throughput.ts', 'backup-details.ts', 'verify.ts', 'storage-list.ts', 'restore.ts', 'fleet.ts'];
for (const b of BENCHES) {
  console.log(`\n=== ${b} ===`);
  execFileSync(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, b)], { stdio: 'inherit' });
}
