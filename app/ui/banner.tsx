export function Banner({ kind, children, testId }: { kind: 'success' | 'error' | 'info' | 'warning'; children: React.ReactNode; testId?: string }) {
  const styles = {
    success: 'border-green-300 bg-green-50 text-green-900',
    error: 'border-red-300 bg-red-50 text-red-900',
    info: 'border-sky-300 bg-sky-50 text-sky-900',
    warning: 'border-amber-300 bg-amber-50 text-amber-900',
  }[kind];
  return (
    <div role={kind === 'error' ? 'alert' : 'status'} data-testid={testId} className={`mb-4 rounded-md border px-4 py-3 text-sm ${styles}`}>
      {children}
    </div>
  );
}
