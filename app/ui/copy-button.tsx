'use client';
import { useState } from 'react';

/** Copies a text; without clipboard access (plain HTTP) it selects the element `targetId` for the user to copy. */
export function CopyButton({ text, label, targetId, className }: { text: string; label: string; targetId: string; className?: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      aria-label={label}
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
        } catch {
          const el = document.getElementById(targetId);
          if (el) window.getSelection()?.selectAllChildren(el);
        }
        setCopied(true);
        setTimeout(() => setCopied(false), 2000);
      }}
      className={className ?? 'ml-1 rounded border border-slate-300 px-1.5 text-xs hover:bg-slate-100'}
    >
      {copied ? 'Copied' : 'Copy'}
    </button>
  );
}
