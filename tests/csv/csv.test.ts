import { describe, expect, it } from 'vitest';
import { csvField, csvRecord } from '@/lib/csv/csv';

describe('csv', () => {
  it('quotes commas, quotes and line breaks (RFC 4180) and ends records with CRLF', () => {
    expect(csvRecord(['a', 'b,c', 'say "hi"', 'two\nlines', null, 3])).toBe('a,"b,c","say ""hi""","two\nlines",,3\r\n');
  });
  it('makes cells that a spreadsheet would run as a formula text', () => {
    for (const s of ['=1+1', '+cmd', '-2', '@SUM(A1)', '\t=x', '\r=x']) expect(csvField(s).replace(/^"/, '')).toMatch(/^'/);
    expect(csvField('=HYPERLINK("x","y")')).toBe(`"'=HYPERLINK(""x"",""y"")"`);
    expect(csvField('a=b')).toBe('a=b');
  });
});
