/**
 * A message at the top of a section. With onDismiss it has a Dismiss button,
 * for results that should not stay on screen once read (they are not taken
 * away on a timer: a screen-reader user may still be reading them).
 */
export function Banner({ kind, children, testId, onDismiss }: { kind: 'success' | 'error' | 'info' | 'warning'; children: React.ReactNode; testId?: string; onDismiss?: () => void }) {
  const styles = {
    success: 'border-green-300 bg-green-50 text-green-900',
    error: 'border-red-300 bg-red-50 text-red-900',
    info: 'border-sky-300 bg-sky-50 text-sky-900',
    warning: 'border-amber-300 bg-amber-50 text-amber-900',
  }[kind];
  return (
    <div role={kind === 'error' ? 'alert' : 'status'} data-testid={testId} className={`mb-4 flex items-start gap-3 rounded-md border px-4 py-3 text-sm ${styles}`}>
      <div className="min-w-0 flex-1">{children}</div>
      {onDismiss ? (
        <button type="button" onClick={onDismiss} aria-label="Dismiss this message" className="-my-1 shrink-0 rounded px-2 py-1 text-base leading-none opacity-70 hover:bg-black/5 hover:opacity-100">
          <span aria-hidden="true">×</span>
        </button>
      ) : null}
    </div>
  );
}
