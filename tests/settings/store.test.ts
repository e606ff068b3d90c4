import { beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { db } from '@/lib/db/client';
import { getSetting, putSetting } from '@/lib/settings/store';

const schema = z.object({ n: z.number().int(), label: z.string() });

beforeEach(() => {
  db().$client.exec('DELETE FROM settings');
});

function row(key: string) {
  return db().$client.prepare('SELECT * FROM settings WHERE key = ?').get(key) as { value: string; updated_by: string; updated_at: number } | undefined;
}

describe('settings store', () => {
  it('absent key → undefined', () => {
    expect(getSetting('nothing', schema)).toBeUndefined();
  });

  it('stores JSON and reads it back through the schema', () => {
    putSetting('k', schema, { n: 1, label: 'one' }, 'alice');
    expect(getSetting('k', schema)).toEqual({ n: 1, label: 'one' });
    expect(JSON.parse(row('k')!.value)).toEqual({ n: 1, label: 'one' });
    expect(row('k')!.updated_by).toBe('alice');
  });

  it('overwrites on a second put (one row per key) and records who changed it', () => {
    putSetting('k', schema, { n: 1, label: 'one' }, 'alice');
    putSetting('k', schema, { n: 2, label: 'two' }, 'bob');
    expect(getSetting('k', schema)).toEqual({ n: 2, label: 'two' });
    expect(db().$client.prepare('SELECT count(*) AS c FROM settings').get()).toEqual({ c: 1 });
    expect(row('k')!.updated_by).toBe('bob');
  });

  it('refuses to store a value its schema rejects, and keeps the old one', () => {
    putSetting('k', schema, { n: 1, label: 'one' }, 'alice');
    expect(() => putSetting('k', schema, { n: 1.5, label: 'x' } as never, 'mallory')).toThrow(z.ZodError);
    expect(getSetting('k', schema)).toEqual({ n: 1, label: 'one' });
  });

  it('strips unknown fields before storing', () => {
    putSetting('k', schema, { n: 1, label: 'one', extra: 'x' } as never, 'alice');
    expect(JSON.parse(row('k')!.value)).toEqual({ n: 1, label: 'one' });
  });

  it('a stored value that no longer parses is treated as absent', () => {
    db().$client.prepare('INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)').run('k', JSON.stringify({ n: 'one' }), Date.now());
    expect(getSetting('k', schema)).toBeUndefined();
  });
});
