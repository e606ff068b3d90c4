'use client';
import { useEffect, useRef, useState } from 'react';
import { Banner } from './banner';

const EVENT = 'webconf:flash';

/** Shows a success message in the banner at the top of the page (seed: "A green banner at the top of the screen"). */
export function flash(message: string): void {
  window.dispatchEvent(new CustomEvent<string>(EVENT, { detail: message }));
}

export function PageFlash() {
  const [message, setMessage] = useState<string | null>(null);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const on = (e: Event) => {
      setMessage((e as CustomEvent<string>).detail);
      // Shown and focused (a dialog that submitted has closed, and focus would otherwise be lost).
      requestAnimationFrame(() => {
        ref.current?.scrollIntoView({ block: 'start' });
        ref.current?.focus({ preventScroll: true });
      });
    };
    // The next submission's answer replaces it (a later refusal must not stand under an old success).
    const clear = () => setMessage(null);
    window.addEventListener(EVENT, on);
    document.addEventListener('submit', clear, true);
    return () => {
      window.removeEventListener(EVENT, on);
      document.removeEventListener('submit', clear, true);
    };
  }, []);
  if (!message) return <div ref={ref} />;
  return (
    <div ref={ref} tabIndex={-1} className="flex items-start gap-2 focus:outline-none" data-testid="page-flash">
      <div className="flex-1">
        <Banner kind="success">{message}</Banner>
      </div>
      <button type="button" onClick={() => setMessage(null)} aria-label="Dismiss" className="rounded px-2 text-green-900 hover:bg-green-100">×</button>
    </div>
  );
}
