/**
 * CSV (RFC 4180): fields separated by commas, records by CRLF; a field with a
 * comma, a double quote, CR or LF is quoted and its quotes doubled.
 *
 * Formula injection: a spreadsheet runs a cell that starts with = + - @ (or
 * a tab or CR, which some strip before looking) as a formula. Such a cell is
 * written with a leading apostrophe, which spreadsheets show as text
 * (OWASP's advice); the value is otherwise unchanged.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

export function csvField(value: string | number | null | undefined): string {
  let s = value === null || value === undefined ? '' : String(value);
  if (FORMULA_START.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvRecord(fields: readonly (string | number | null | undefined)[]): string {
  return `${fields.map(csvField).join(',')}\r\n`;
}
