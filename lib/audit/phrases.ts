/**
 * The audit trail in words. Each action code maps to what was done, as an
 * infinitive phrase ("set the Domain Master Secret") from which the sentence
 * for every outcome is made:
 *   success  "<who> set the Domain Master Secret"            (past, from `done`)
 *   denied   "<who> was refused: set the Domain Master Secret — already set"
 *   failure  "<who> could not set the Domain Master Secret: <reason>"
 * Codes written by the route wrapper (api.*) and the action wrapper are only
 * ever recorded as refusals or failures, so they need the infinitive alone.
 * An unknown code still reads as a sentence: its words are made from the code.
 *
 * No React and nothing of the console here: the page, the API and the CSV
 * export all call describeAuditEvent.
 */

export type AuditEventLike = {
  actorName: string;
  action: string;
  outcome: 'success' | 'denied' | 'failure';
  target: string | null;
  detail: string | Record<string, unknown> | null;
};

type Detail = Record<string, unknown>;
type Phrase = {
  /** Infinitive: "set the Domain Master Secret". */
  todo: (target: string, d: Detail) => string;
  /** Past tense for a success; defaults to "<who> did: <todo>" only if absent, so give it for every success code. */
  done?: (target: string, d: Detail) => string;
};

const t = (target: string, fallback = '') => (target ? ` ${target}` : fallback);
const str = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');

/** Action groups for the filter: the prefix before the first dot, in words. */
export const ACTION_GROUPS = {
  auth: 'Sign-in and identity provider',
  account: 'Accounts',
  user: 'Accounts (changes)',
  token: 'API tokens',
  backup: 'Backups, storage, verify and restore',
  storage: 'Storage devices',
  fleet: 'Managed devices',
  ssh: 'SSH host keys',
  alerts: 'Alerts',
  page: 'Pages refused',
  api: 'API requests refused or failed',
} as const;
export type ActionGroup = keyof typeof ACTION_GROUPS;

const PHRASES: Record<string, Phrase> = {
  // Sign-in is told from the account's side: "sign-in of alice refused: wrong password" (see describeAuditEvent).
  'auth.sign-in': { todo: () => 'sign in' },
  'auth.oidc.configure': { todo: () => 'configure the OpenID Connect sign-in', done: () => 'configured the OpenID Connect sign-in' },
  'token.issue': { todo: (x) => `issue the API token${t(x.replace(/^token:/, ''))}`, done: (x, d) => `issued the API token${t(x.replace(/^token:/, ''))}${d.role ? ` with the ${d.role} role` : ''}` },
  'token.revoke': { todo: (x) => `revoke the API token${t(x.replace(/^token:/, ''))}`, done: (x) => `revoked the API token${t(x.replace(/^token:/, ''))}` },
  'page.view': { todo: (x) => `open the page${t(x)}`, done: (x) => `opened the page${t(x)}` },

  'account.create': { todo: (x) => `create the account${t(x)}`, done: (x, d) => `created the account${t(x)}${d.role ? ` with the ${d.role} role` : ''}` },
  'account.delete': { todo: (x) => `delete the account${t(x)}`, done: (x) => `deleted the account${t(x)}` },
  'account.otp.create': { todo: () => 'create the OTP user', done: () => 'created the OTP user' },
  'account.otp.reset': { todo: () => 'reset the OTP user', done: (_x, d) => `reset the OTP user${d.reason ? ` (${str(d.reason)})` : ''}` },
  'account.otp.remove': { todo: () => 'remove the OTP user', done: () => 'removed the OTP user' },
  'account.password.change': { todo: () => 'change their own password', done: () => 'changed their own password' },
  'user.role.change': {
    todo: (x) => `change the role of${t(x, ' an account')}`,
    done: (x, d) => `changed the role of${t(x, ' an account')}${d.from && d.to ? ` from ${str(d.from)} to ${str(d.to)}` : d.role ? ` to ${str(d.role)}` : ''}`,
  },
  'user.password.reset': { todo: (x) => `reset the password of${t(x, ' an account')}`, done: (x) => `reset the password of${t(x, ' an account')}` },
  'user.disable': { todo: (x) => `disable the account${t(x)}`, done: (x) => `disabled the account${t(x)}` },
  'user.state.change': { todo: (x) => `disable or enable the account${t(x)}`, done: (x) => `disabled or enabled the account${t(x)}` },
  'user.role.sync': {
    todo: (x) => `take the role of${t(x, ' an account')} from the identity provider`,
    done: (x, d) => `had the role of${t(x, ' an account')} set from the identity provider${d.from && d.to ? ` (${str(d.from)} to ${str(d.to)})` : d.role ? ` (${str(d.role)})` : ''}`,
  },
  'user.enable': { todo: (x) => `enable the account${t(x)}`, done: (x) => `enabled the account${t(x)}` },

  'backup.dms.set': { todo: () => 'set the Domain Master Secret', done: () => 'set the Domain Master Secret' },
  'backup.settings.save': { todo: () => 'save the backup settings', done: () => 'saved the backup settings' },
  'backup.schedule.save': { todo: () => 'save the backup schedule', done: () => 'saved the backup schedule' },
  'backup.storage.configure': { todo: (x) => `change the backup storage${x ? ` to ${x}` : ''}`, done: (x) => `changed the backup storage${x ? ` to ${x}` : ''}` },
  'backup.start': {
    todo: (_x, d) => `start a ${d.trigger === 'scheduled' ? 'scheduled' : 'manual'} backup`,
    done: (x, d) => `started a ${d.trigger === 'scheduled' ? 'scheduled' : 'manual'} backup${x ? ` (run ${x})` : ''}`,
  },
  'backup.finish': { todo: (x) => `finish the backup${t(x)}`, done: (x) => `finished the backup${t(x)}` },
  'backup.recover': { todo: (x) => `clean up the interrupted backup${x ? ` run ${x}` : ''}`, done: (x) => `cleaned up the interrupted backup${x ? ` run ${x}` : ''}` },
  'backup.retention.remove': { todo: (x) => `remove the old backup${t(x)}`, done: (x, d) => `removed the old backup${t(x)}${d.keep ? ` (keeping ${str(d.keep)})` : ''}` },
  'backup.retention.missing': { todo: (x) => `find the old backup${t(x)}`, done: (x) => `found the old backup${t(x)} already gone and forgot it` },
  'backup.retention.skip': { todo: (x) => `remove the old backup${t(x)}`, done: (x) => `left the old backup${t(x)} in place` },
  'backup.verify.schedule.save': { todo: () => 'save the verify schedule', done: () => 'saved the verify schedule' },
  'backup.verify.start': { todo: (x) => `start verifying${t(x, ' a backup')}`, done: (x, d) => `started a ${str(d.level) || ''}${d.level ? ' ' : ''}verification of${t(x, ' a backup')}` },
  'backup.verify.finish': { todo: (x) => `verify${t(x, ' a backup')}`, done: (x) => `verified${t(x, ' a backup')}: it passed` },
  'backup.verify.recover': { todo: (x) => `clean up the interrupted verification of${t(x, ' a backup')}`, done: (x) => `cleaned up the interrupted verification of${t(x, ' a backup')}` },
  'backup.restore': { todo: (x) => `restore${t(x, ' a backup')}`, done: (x) => `restored${t(x, ' a backup')}` },
  'backup.restore.dry-run': { todo: (x) => `check a restore of${t(x, ' a backup')}`, done: (x, d) => `checked a restore of${t(x, ' a backup')}${typeof d.blockers === 'number' ? ` (${d.blockers} blocker${d.blockers === 1 ? '' : 's'})` : ''}` },
  'backup.restore.upload': { todo: (x) => `upload the backup file${t(x)}`, done: (x) => `uploaded the backup file${t(x)}` },
  'backup.restore.fetch': { todo: (x) => `fetch the backup file${t(x)}`, done: (x) => `fetched the backup file${t(x)}` },
  'backup.restore.recover': { todo: (x) => `finish the interrupted restore of${t(x, ' a backup')}`, done: (x) => `finished the interrupted restore of${t(x, ' a backup')}` },
  'storage.usb.eject': { todo: (x) => `eject the USB drive${t(x)}`, done: (x) => `ejected the USB drive${t(x)}` },
  'ssh.host_key.pin': { todo: (x) => `trust the SSH host key of${t(x, ' a server')}`, done: (x) => `trusted the SSH host key of${t(x, ' a server')}` },

  'fleet.device.add': { todo: (x) => `add the managed device${t(x)}`, done: (x) => `added the managed device${t(x)}` },
  'fleet.device.change': { todo: (x) => `change the managed device${t(x)}`, done: (x) => `changed the managed device${t(x)}` },
  'fleet.device.pin': { todo: (x) => `pin the host key of the device${t(x)}`, done: (x) => `pinned the host key of the device${t(x)}` },
  'fleet.device.approve': { todo: (x) => `approve the device${t(x)}`, done: (x) => `approved the device${t(x)}` },
  'fleet.device.enable': { todo: (x) => `enable backups of the device${t(x)}`, done: (x) => `enabled backups of the device${t(x)}` },
  'fleet.device.disable': { todo: (x) => `disable backups of the device${t(x)}`, done: (x) => `disabled backups of the device${t(x)}` },
  'fleet.device.key': { todo: (x) => `set the encryption key of the device${t(x)}`, done: (x) => `set the encryption key of the device${t(x)}` },
  'fleet.device.remove': { todo: (x) => `remove the device${t(x)}`, done: (x, d) => `removed the device${t(x)}${typeof d.backupsRemoved === 'number' ? ` and its ${d.backupsRemoved} backup${d.backupsRemoved === 1 ? '' : 's'}` : ''}` },
  'fleet.retention.remove': { todo: (x) => `remove the old device backup${t(x)}`, done: (x) => `removed the old device backup${t(x)}` },
  'fleet.run.start': { todo: () => 'start a device backup run', done: (x, d) => `started device backup run${t(x)}${typeof d.devices === 'number' ? ` for ${d.devices} device${d.devices === 1 ? '' : 's'}` : ''}` },
  'fleet.run.cancel': { todo: (x) => `cancel device backup run${t(x)}`, done: (x) => `cancelled device backup run${t(x)}` },
  'fleet.run.finish': { todo: (x) => `finish device backup run${t(x)}`, done: (x) => `finished device backup run${t(x)}` },
  'fleet.run.recover': { todo: (x) => `clean up the interrupted device backup run${t(x)}`, done: (x) => `cleaned up the interrupted device backup run${t(x)}` },
  'fleet.config.save': { todo: () => 'save the managed devices configuration', done: () => 'saved the managed devices configuration' },
  'fleet.key.set': { todo: () => 'set the organisation encryption key', done: () => 'set the organisation encryption key' },
  'fleet.backup.download': { todo: (x) => `download a backup of the device${t(x)}`, done: (x) => `downloaded a backup of the device${t(x)}` },

  // Alerts (lib/alerts): channels and their tests, conditions, deliveries.
  'alerts.channel.create': { todo: (x) => `add the alert channel${t(x)}`, done: (x) => `added the alert channel${t(x)}` },
  'alerts.channel.add': { todo: (x) => `add the alert channel${t(x)}`, done: (x) => `added the alert channel${t(x)}` },
  'alerts.channel.save': { todo: (x) => `save the alert channel${t(x)}`, done: (x) => `saved the alert channel${t(x)}` },
  'alerts.channel.change': { todo: (x) => `change the alert channel${t(x)}`, done: (x) => `changed the alert channel${t(x)}` },
  'alerts.channel.update': { todo: (x) => `change the alert channel${t(x)}`, done: (x) => `changed the alert channel${t(x)}` },
  'alerts.channel.delete': { todo: (x) => `remove the alert channel${t(x)}`, done: (x) => `removed the alert channel${t(x)}` },
  'alerts.channel.remove': { todo: (x) => `remove the alert channel${t(x)}`, done: (x) => `removed the alert channel${t(x)}` },
  'alerts.channel.test': { todo: (x) => `send a test alert through${t(x, ' a channel')}`, done: (x) => `sent a test alert through${t(x, ' a channel')}` },
  'alerts.channel.disable': { todo: (x) => `turn off the alert channel${t(x)}`, done: (x) => `turned off the alert channel${t(x)}` },
  'alerts.channel.enable': { todo: (x) => `turn the alert channel${t(x)} on or off`, done: (x) => `turned the alert channel${t(x)} on or off` },
  'alerts.settings.update': { todo: () => 'change the alert settings', done: () => 'changed the alert settings' },
  'alerts.settings.save': { todo: () => 'save the alert settings', done: () => 'saved the alert settings' },
  'alerts.deliver': { todo: (x) => `deliver an alert${x ? ` through ${x}` : ''}`, done: (x) => `delivered an alert${x ? ` through ${x}` : ''}` },
  'alerts.send': { todo: (x) => `send an alert${x ? ` through ${x}` : ''}`, done: (x) => `sent an alert${x ? ` through ${x}` : ''}` },
};

/**
 * Route handlers and server actions are named after what they do
 * (api.backup.dms.set); those that are not one of the codes above read as
 * "<verb> <object>" from the table below or, failing that, from the code's
 * words. They are recorded only when refused or failed.
 */
const REQUESTS: Record<string, string> = {
  'api.audit.read': 'read the audit trail',
  'api.audit.export': 'export the audit trail',
  'api.me': 'read their own account',
  'api.backup.status': 'read the backup status',
  'api.backup.dms.read': 'read whether the Domain Master Secret is set',
  'api.backup.schedule.read': 'read the backup schedule',
  'api.backup.schedule.next-runs': 'preview the backup schedule',
  'api.backup.settings.read': 'read the backup settings',
  'api.backup.storage.read': 'read the backup storage',
  'api.backup.verify-schedule.read': 'read the verify schedule',
  'api.backups.list': 'list the backups',
  'api.backups.read': 'read a backup',
  'api.backups.details': 'read the details of a backup',
  'api.backups.start': 'start a manual backup',
  'api.devices.list': 'list the managed devices',
  'api.devices.read': 'read a managed device',
  'api.devices.backups': "list a device's backups",
  'api.devices.backup': 'start a device backup',
  'api.devices.download': 'download a device backup',
  'api.fleet.status': 'read the managed devices status',
  'api.fleet.config.read': 'read the managed devices configuration',
  'api.fleet.run.read': 'read a device backup run',
  'api.restore.status': 'read the restore status',
  'api.restore.plan': 'check a restore',
  'api.restore.start': 'start a restore',
  'api.restore.upload': 'upload a backup file',
  'api.restore.remote.fetch': 'fetch a backup file',
  'api.restore.remote.pin': "trust a server's SSH host key",
  'api.restore.remote.probe': 'look at a remote backup server',
  'api.restore.incoming.discard': 'discard an uploaded backup file',
  'api.storage.browse': 'browse the backup storage',
  'api.storage.details': 'read a stored backup file',
  'api.storage.usb.list': 'list the USB drives',
  'api.tokens.list': 'list the API tokens',
  'api.users.list': 'list the accounts',
  'api.users.update': 'change an account',
  'api.verifications.list': 'list the verifications',
  'api.verifications.read': 'read a verification',
  'api.verifications.start': 'verify a backup',
  'api.alerts.read': 'read the alert settings',
  'api.alerts.channels.list': 'list the alert channels',
  'api.alerts.channels.create': 'add an alert channel',
  'api.alerts.channels.update': 'change an alert channel',
  'api.alerts.channels.delete': 'remove an alert channel',
  'api.alerts.channels.test': 'send a test through an alert channel',
  'api.alerts.list': 'list the alert channels',
};

/** api.backup.dms.set and api.users.delete reuse the phrases of the codes they stand for. */
const API_ALIASES: Record<string, string> = {
  'api.backup.dms.set': 'backup.dms.set',
  'api.backup.schedule.save': 'backup.schedule.save',
  'api.backup.settings.save': 'backup.settings.save',
  'api.backup.storage.save': 'backup.storage.configure',
  'api.backup.verify-schedule.save': 'backup.verify.schedule.save',
  'api.devices.add': 'fleet.device.add',
  'api.devices.approve': 'fleet.device.approve',
  'api.devices.change': 'fleet.device.change',
  'api.devices.key': 'fleet.device.key',
  'api.devices.pin': 'fleet.device.pin',
  'api.devices.remove': 'fleet.device.remove',
  'api.fleet.config.save': 'fleet.config.save',
  'api.fleet.key.set': 'fleet.key.set',
  'api.fleet.run.cancel': 'fleet.run.cancel',
  'api.fleet.run.start': 'fleet.run.start',
  'api.storage.usb.eject': 'storage.usb.eject',
  'api.tokens.issue': 'token.issue',
  'api.tokens.revoke': 'token.revoke',
  'api.users.create': 'account.create',
  'api.users.delete': 'account.delete',
  'api.me.password': 'account.password.change',
};

/** "backup.verify-schedule.read" → "backup verify schedule read": the generic words of an unknown code. */
function wordsOf(code: string): string {
  return code
    .replace(/^api\./, '')
    .split(/[._-]+/)
    .filter(Boolean)
    .join(' ');
}

const PERMISSION_WORDS: Record<string, string> = {
  'backup:read': 'read backups',
  'storage:browse': 'browse the storage',
  'backup:run': 'start backups',
  'backup:verify': 'verify backups',
  'backup:configure': 'configure backups',
  'backup:restore': 'restore backups',
  'users:create': 'create accounts',
  'users:manage': 'manage accounts',
  'auth:configure': 'configure sign-in',
  'audit:read': 'read the audit trail',
  'devices:read': 'read managed devices',
  'devices:run': 'back up managed devices',
  'devices:download': 'download device backups',
  'devices:configure': 'configure managed devices',
  'tokens:manage': 'manage API tokens',
  'alerts:configure': 'configure alerts',
};

const REASON_WORDS: Record<string, string> = {
  throttled: 'too many attempts, try again later',
  'no session': 'not signed in',
  'no role claim': 'the identity provider gave no role',
  'cross-site request': 'the request came from another site',
};

export function parseDetail(detail: AuditEventLike['detail']): Detail {
  if (!detail) return {};
  if (typeof detail !== 'string') return detail;
  try {
    const v = JSON.parse(detail) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Detail) : {};
  } catch {
    return {};
  }
}

/** Why it was refused or failed, in words; '' when nothing was recorded. */
export function reasonOf(e: AuditEventLike): string {
  const d = parseDetail(e.detail);
  if (typeof d.reason === 'string' && d.reason) return REASON_WORDS[d.reason] ?? d.reason;
  if (typeof d.permission === 'string') return `their role may not ${PERMISSION_WORDS[d.permission] ?? d.permission.replace(':', ' ')}`;
  if (e.action === 'auth.sign-in' && e.outcome === 'failure') return 'wrong user name or password';
  if (e.action === 'fleet.device.pin' && typeof d.presented === 'string') return `the device presented another key (${d.presented})`;
  if (e.action === 'fleet.run.finish' && typeof d.status === 'string' && e.outcome !== 'success') return `the run ended ${d.status}`;
  if (e.action === 'backup.verify.finish' && e.outcome !== 'success') return 'the file did not pass the check';
  return '';
}

function who(name: string): string {
  if (name === 'system') return 'The console';
  if (name === 'anonymous') return 'Someone not signed in';
  return name;
}

/** The sentence for one entry. Never the raw code alone. */
export function describeAuditEvent(e: AuditEventLike): string {
  const d = parseDetail(e.detail);
  const target = e.target ?? '';
  const reason = reasonOf(e);
  const because = reason ? `: ${reason}` : '';
  const subject = who(e.actorName);

  if (e.action === 'auth.sign-in') {
    const how = d.method === 'oidc' ? ' through the identity provider' : '';
    if (e.outcome === 'success') return `${subject} signed in${how}`;
    return `Sign-in of ${e.actorName}${how} refused${because}`;
  }
  if (e.action === 'page.view' && e.outcome === 'denied') return `${subject} was refused the page${t(target)}${because}`;

  const code = API_ALIASES[e.action] ?? e.action;
  const phrase = PHRASES[code];
  const todo = phrase ? phrase.todo(target, d) : (REQUESTS[e.action] ?? `${wordsOf(e.action)}${target ? ` (${target})` : ''}`);
  const via = e.action.startsWith('api.') && API_ALIASES[e.action] ? ' through the API' : '';
  if (e.outcome === 'success') {
    if (phrase?.done) return `${subject} ${phrase.done(target, d)}${via}`;
    return `${subject} did: ${todo}${via}`;
  }
  if (e.outcome === 'denied') return `${subject} was not allowed to ${todo}${via}${because}`;
  return `${subject} could not ${todo}${via}${because}`;
}

/** Every code this table knows (tests check the codes in use are all here). */
export const KNOWN_ACTIONS: readonly string[] = [...Object.keys(PHRASES), ...Object.keys(REQUESTS), ...Object.keys(API_ALIASES)];
