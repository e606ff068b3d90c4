'use client';
import { useEffect, useRef } from 'react';

/**
 * React resets a form after each submission (form.reset()), and a <select>
 * then falls back to the option marked selected in the HTML, not to React's
 * value (facebook/react#30580): after a refused submission the select showed,
 * and the next submission sent, the first value again. Marking the chosen
 * option as the default keeps it through the reset.
 */
export function useResetSafeSelect(value: string) {
  const ref = useRef<HTMLSelectElement>(null);
  useEffect(() => {
    keepSelected(ref.current, value);
  }, [value]);
  return ref;
}

/** For uncontrolled selects: call from onChange. */
export function keepSelected(select: HTMLSelectElement | null, value: string): void {
  for (const option of Array.from(select?.options ?? [])) option.defaultSelected = option.value === value;
}
