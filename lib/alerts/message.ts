import type { AlertEvent, AlertKind, AlertMessage } from './schemas';

/**
 * The words of an alert: a subject line and a plain text that says what
 * happened, on which appliance or device, when, why and what to do. The
 * same message goes to every channel; each sender only changes its framing.
 */
const KIND_WORDS: Record<AlertKind, string> = {
  failure: 'FAILING',
  reminder: 'STILL FAILING',
  recovery: 'RECOVERED',
  test: 'TEST',
};

function duration(ms: number): string {
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  if (h >= 48) return `${Math.floor(h / 24)} days`;
  if (h >= 1) return `${h} h ${m} min`;
  return `${Math.max(m, 1)} min`;
}

export function composeMessage(opts: {
  kind: AlertKind;
  condition: string | null;
  appliance: string;
  event: AlertEvent;
  at: Date;
  failingSince?: Date | null;
}): AlertMessage {
  const { kind, event, at, appliance } = opts;
  const where = event.where ?? `appliance ${appliance}`;
  const since = opts.failingSince ?? null;
  const lines = [`${event.what}`, '', `Where: ${where}`, `When: ${at.toISOString()}`];
  if (since && kind !== 'failure') lines.push(`Failing since: ${since.toISOString()} (${duration(at.getTime() - since.getTime())})`);
  if (event.why) lines.push(`Why: ${event.why}`);
  if (event.action) lines.push(`What to do: ${event.action}`);
  if (kind === 'reminder') lines.push('', 'This is a reminder: the problem has not been resolved yet.');
  lines.push('', `-- Webconf on ${appliance}`);
  return {
    kind,
    condition: opts.condition,
    subject: `[Webconf ${appliance}] ${KIND_WORDS[kind]}: ${event.what}`,
    text: lines.join('\n'),
    appliance,
    where,
    what: event.what,
    why: event.why ?? null,
    action: event.action ?? null,
    at: at.toISOString(),
    failingSince: since ? since.toISOString() : null,
  };
}
