'use client';
import { useFormStatus } from 'react-dom';

export function SubmitButton({
  children,
  variant = 'primary',
  disabled = false,
}: {
  children: React.ReactNode;
  variant?: 'primary' | 'danger' | 'secondary';
  disabled?: boolean;
}) {
  const { pending } = useFormStatus();
  const colors = {
    primary: 'bg-sky-700 text-white hover:bg-sky-800',
    danger: 'bg-red-700 text-white hover:bg-red-800',
    secondary: 'bg-white text-slate-800 border border-slate-300 hover:bg-slate-100',
  }[variant];
  return (
    <button type="submit" disabled={pending || disabled} aria-disabled={pending || disabled} className={`rounded-md px-4 py-2 text-sm font-semibold shadow-sm disabled:opacity-60 ${colors}`}>
      {pending ? 'Working…' : children}
    </button>
  );
}
