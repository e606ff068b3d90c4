'use client';
import { keepSelected } from './use-reset-safe-select';

/**
 * A labelled form field whose errors are tied to the input through
 * aria-describedby and aria-invalid, so a screen reader reads them with it.
 */
export function Field({
  name,
  id = name,
  label,
  type = 'text',
  defaultValue,
  errors,
  hint,
  autoComplete,
  required,
  children,
}: {
  name: string;
  /** The element's id when one page shows the same field twice (defaults to the name). */
  id?: string;
  label: string;
  type?: string;
  defaultValue?: string;
  errors?: string[];
  hint?: string;
  autoComplete?: string;
  required?: boolean;
  children?: React.ReactNode;
}) {
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const describedBy = [hint ? hintId : null, errors?.length ? errorId : null].filter(Boolean).join(' ') || undefined;
  const invalid = Boolean(errors?.length);
  const cls = `mt-1 block w-full rounded-md border px-3 py-2 text-sm shadow-sm focus:outline-none focus:ring-2 focus:ring-sky-500 ${
    invalid ? 'border-red-500' : 'border-slate-300'
  }`;
  return (
    <div className="mb-4">
      <label htmlFor={id} className="block text-sm font-medium text-slate-700">
        {label}
        {required ? <span aria-hidden="true"> *</span> : null}
      </label>
      {children ? (
        <select id={id} name={name} defaultValue={defaultValue} aria-invalid={invalid} aria-describedby={describedBy} className={cls}
          // Keeps the chosen option through React's form reset after a submission (see use-reset-safe-select.ts).
          onChange={(e) => keepSelected(e.currentTarget, e.currentTarget.value)}>
          {children}
        </select>
      ) : (
        <input
          id={id}
          name={name}
          type={type}
          defaultValue={defaultValue}
          autoComplete={autoComplete}
          aria-invalid={invalid}
          aria-describedby={describedBy}
          aria-required={required}
          className={cls}
        />
      )}
      {hint ? (
        <p id={hintId} className="mt-1 text-xs text-slate-500">
          {hint}
        </p>
      ) : null}
      {invalid ? (
        <p id={errorId} className="mt-1 text-sm text-red-700" role="alert">
          {/* The first problem only: schemas check the most basic rule first, so an empty field says "Enter …", not every rule it breaks. */}
          {errors![0]}
        </p>
      ) : null}
    </div>
  );
}
