/**
 * Fault points for the crash tests: with WEBCONF_TEST_CRASH_AT=<point> the
 * process kills itself (SIGKILL: no clean-up, no exit handlers) when it
 * reaches that point, the way a power cut or the OOM killer would. Points
 * named "<name>#<n>" fire the n-th time <name> is reached (verify#3: during
 * the third window of the verification). Honoured only together with
 * WEBCONF_TEST_HOOKS=1, so an appliance never dies on one stray variable.
 */
const counts = new Map<string, number>();

export function faultPoint(name: string): void {
  const at = process.env.WEBCONF_TEST_CRASH_AT;
  if (!at || process.env.WEBCONF_TEST_HOOKS !== '1') return;
  const n = (counts.get(name) ?? 0) + 1;
  counts.set(name, n);
  if (at === name || at === `${name}#${n}`) process.kill(process.pid, 'SIGKILL');
}

/** With WEBCONF_TEST_FAIL_AT=<point> (and WEBCONF_TEST_HOOKS=1), the step at that point reports a failure instead of killing the process. */
export function failurePoint(name: string): boolean {
  return process.env.WEBCONF_TEST_HOOKS === '1' && process.env.WEBCONF_TEST_FAIL_AT === name;
}
