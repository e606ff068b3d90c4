'use client';
import { useEffect, useMemo, useRef, useState } from 'react';

/**
 * A time zone chosen from a list that a search field filters ("kolkata",
 * "berlin", "new york"): two labelled controls, a search box and a select
 * that always keeps the chosen zone, so the form sends it even when the
 * search hides it. Errors are tied to the select (aria-describedby).
 */
export function TimeZonePicker({
  name,
  label,
  zones,
  defaultValue,
  errors,
  onChange,
}: {
  name: string;
  label: string;
  zones: string[];
  defaultValue: string;
  errors?: string[];
  onChange?: (tz: string) => void;
}) {
  const [value, setValue] = useState(defaultValue);
  const [query, setQuery] = useState('');
  const select = useRef<HTMLSelectElement>(null);
  const current = useRef(value);
  current.current = value;
  // React resets a form after its action (form.reset()): a controlled select then shows its first
  // option while the state still holds the choice. Put the choice back once the reset is done.
  useEffect(() => {
    const form = select.current?.form;
    if (!form) return;
    const onReset = () =>
      queueMicrotask(() => {
        if (select.current) select.current.value = current.current;
      });
    form.addEventListener('reset', onReset);
    return () => form.removeEventListener('reset', onReset);
  }, []);
  const list = useMemo(() => {
    const words = query.trim().toLowerCase().replace(/[_\s]+/g, ' ').split(' ').filter(Boolean);
    const shown = zones.filter((z) => {
      const hay = z.toLowerCase().replace(/_/g, ' ');
      return words.every((w) => hay.includes(w));
    });
    return { matches: shown.length, options: shown.includes(value) ? shown : [value, ...shown] };
  }, [zones, query, value]);
  const errorId = `${name}-error`;
  const invalid = Boolean(errors?.length);
  const cls = `mt-1 block w-full rounded-md border px-3 py-2 text-sm shadow-sm focus:outline-none focus:ring-2 focus:ring-sky-500 ${invalid ? 'border-red-500' : 'border-slate-300'}`;
  return (
    <div className="mb-4">
      <label htmlFor={`${name}-search`} className="block text-sm font-medium text-slate-700">Search time zones</label>
      <input
        id={`${name}-search`}
        type="search"
        value={query}
        onChange={(e) => {
          setQuery(e.target.value);
          // The first match becomes the choice, so typing a city and saving does what it says.
          const words = e.target.value.trim().toLowerCase().split(/[_\s]+/).filter(Boolean);
          const first = words.length ? zones.find((z) => words.every((w) => z.toLowerCase().replace(/_/g, ' ').includes(w))) : undefined;
          if (first) {
            setValue(first);
            onChange?.(first);
          }
        }}
        placeholder="City or region, e.g. Kolkata"
        aria-controls={name}
        className={cls}
        autoComplete="off"
      />
      <label htmlFor={name} className="mt-2 block text-sm font-medium text-slate-700">{label}</label>
      <select
        ref={select}
        id={name}
        name={name}
        value={value}
        onChange={(e) => {
          setValue(e.target.value);
          onChange?.(e.target.value);
        }}
        aria-invalid={invalid || undefined}
        aria-describedby={invalid ? errorId : undefined}
        className={cls}
      >
        {list.options.map((z) => (
          <option key={z} value={z}>{z}</option>
        ))}
      </select>
      <p className="mt-1 text-xs text-slate-500" aria-live="polite">
        {!query
          ? ''
          : list.matches === 0
            ? `No time zone matches “${query.trim()}”. Try a city or region name, such as Kolkata or Europe.`
            : `${list.matches} time zone${list.matches === 1 ? '' : 's'} match.`}
      </p>
      {invalid ? (
        <p id={errorId} className="mt-1 text-sm text-red-700">{errors!.join(' ')}</p>
      ) : null}
    </div>
  );
}
