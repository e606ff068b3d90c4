/**
 * Sizes as the seed's Storage Information shows them: GB or TB with one
 * decimal (decimal units, as disk vendors count), MB below 1 GB so that a
 * small drive does not read "0.0 GB".
 */
export function formatSize(bytes: number): string {
  const tb = 1e12;
  const gb = 1e9;
  const mb = 1e6;
  if (bytes >= tb) return `${(bytes / tb).toFixed(1)} TB`;
  if (bytes >= gb) return `${(bytes / gb).toFixed(1)} GB`;
  if (bytes >= mb) return `${(bytes / mb).toFixed(1)} MB`;
  if (bytes >= 1000) return `${(bytes / 1000).toFixed(1)} KB`;
  return bytes === 1 ? '1 byte' : `${bytes} bytes`;
}
