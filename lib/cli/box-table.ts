/**
 * Tables for a terminal, drawn with box-drawing characters as in the
 * NetDefense seed's `ndcli backup status`:
 *
 *   ╭────────┬────────╮
 *   │ Device │ Backup │
 *   ├────────┼────────┤
 *   │ fw-a   │ Enabled│ …
 *   ╰────────┴────────╯
 *
 * One space of padding either side of each cell; columns as wide as their
 * widest cell, counted in code points (every character the tables hold is
 * one column wide: ASCII, "●", "○", "-"). Control characters in a cell
 * (a device's error message, say) are shown as spaces so a cell cannot break
 * the table or the terminal.
 */
export function cellText(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ');
}

const width = (s: string) => [...s].length;
const pad = (s: string, w: number) => s + ' '.repeat(w - width(s));

export function boxTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const cells = [headers, ...rows].map((r) => headers.map((_, i) => cellText(r[i] ?? '')));
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => width(r[i]!))));
  const rule = (l: string, m: string, r: string) => l + widths.map((w) => '─'.repeat(w + 2)).join(m) + r;
  const line = (r: string[]) => '│' + r.map((c, i) => ` ${pad(c, widths[i]!)} `).join('│') + '│';
  const [head, ...body] = cells;
  return [rule('╭', '┬', '╮'), line(head!), rule('├', '┼', '┤'), ...body.map(line), rule('╰', '┴', '╯')].join('\n');
}

/** "Label:  value" lines, the values aligned, as `ndcli backup config show` prints them. */
export function fieldList(fields: readonly (readonly [string, string] | null)[]): string {
  const present = fields.filter((f): f is readonly [string, string] => f !== null);
  const w = Math.max(...present.map(([k]) => width(k))) + 1;
  return fields.map((f) => (f === null ? '' : `${pad(`${f[0]}:`, w)} ${cellText(f[1])}`)).join('\n');
}
