import { formatSize } from '@/lib/storage/format-size';

/** Bytes for people (lib/storage/format-size.ts: decimal units, as disk vendors and the seed use), or a dash for none. */
export function formatBytes(n: number | null | undefined): string {
  return n === null || n === undefined ? '—' : formatSize(n);
}
