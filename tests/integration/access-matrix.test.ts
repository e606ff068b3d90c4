/**
 * The whole access matrix, against the built console: every page, every
 * route handler method and every server action, for every principal, and who
 * gets in and who is refused. Then every request again with the
 * CVE-2025-29927 header (x-middleware-subrequest), whose outcome must be the
 * same: the proxy is only a first gate, every page, action and handler checks
 * the session and role itself.
 *
 * Completeness: pages and route handlers are read from the build's
 * app-paths manifest, server actions from the server-reference manifest, the
 * methods of each route handler from its Allow header. Anything the build has
 * and the tables below do not (or the other way round) fails the test: a new
 * route or action needs a row here.
 *
 * Writes are checked by their effect, read back by the admin: it happens for
 * allowed principals and never for the others. Backup now starts a real
 * backup (DMS set, a local folder as storage) and waits for it to end. The
 * Domain Master Secret is write-once, so its rows are walked in their own
 * order (refused principals first, then the admin once).
 *
 * Build first into the dist dir the test reads:
 *   WEBCONF_DIST_DIR=.next-matrix npx next build
 *   WEBCONF_DIST_DIR=.next-matrix npx vitest run --project integration tests/integration/access-matrix.test.ts
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '@/lib/auth/password';
import { OTP_BACKUP_GUIDANCE } from '@/lib/auth/roles';
import { DMS_ALREADY_SET } from '@/lib/backup/dms';
import { ROOT, startConsole, type ConsoleServer } from '../helpers/console-server';
import { ConsoleClient } from '../helpers/http-client';

// ---------------------------------------------------------------------------
// Principals and the product rules
// ---------------------------------------------------------------------------

type Role = 'otp' | 'support' | 'operator' | 'admin';
/**
 * anonymous: no cookie at all (the proxy answers). stale: the session cookie
 * of a signed-out session, which the proxy lets through, so the page, action
 * or handler itself must refuse it.
 */
type Principal = 'anonymous' | 'stale' | Role;

const ROLES: readonly Role[] = ['otp', 'support', 'operator', 'admin'];
const PRINCIPALS: readonly Principal[] = ['anonymous', 'stale', ...ROLES];
const ALL_ROLES: readonly Role[] = ROLES;
const isRole = (p: Principal): p is Role => (ROLES as readonly string[]).includes(p);

const ROLE_LABEL: Record<Role, string> = { otp: 'OTP User', support: 'Support', operator: 'Operator', admin: 'Admin' };
const PASSWORD = 'matrix-password-1234';
const USERNAME: Record<Exclude<Role, 'otp'>, string> = { admin: 'matrix-admin', operator: 'matrix-operator', support: 'matrix-support' };

/** Who may do a thing, and how the refusal reads for the others. */
type Rule = {
  allow: readonly Role[];
  /** Completes "The <Role> role cannot ..." */
  cannot: string;
  /** Backup-related: the OTP user is refused with the seed's guidance. */
  backup?: boolean;
};

function refusal(role: Role, rule: Rule): string {
  if (role === 'otp' && rule.backup) return OTP_BACKUP_GUIDANCE;
  return `The ${ROLE_LABEL[role]} role cannot ${rule.cannot}.`;
}

/** The CVE-2025-29927 header in the forms Next.js has recognised over the years. */
const BYPASS_HEADERS = [
  'middleware:middleware:middleware:middleware:middleware',
  'proxy:proxy:proxy:proxy:proxy',
  'src/middleware:src/middleware:src/middleware:src/middleware:src/middleware',
  'src/proxy:src/proxy:src/proxy:src/proxy:src/proxy',
  'middleware',
  'pages/_middleware',
];
const VARIANTS: { name: string; headers: Record<string, string> }[] = [
  { name: 'plain', headers: {} },
  ...BYPASS_HEADERS.map((h) => ({ name: `x-middleware-subrequest: ${h}`, headers: { 'x-middleware-subrequest': h } })),
];

// ---------------------------------------------------------------------------
// The expected matrix: pages
// ---------------------------------------------------------------------------

type PageExpect =
  | { kind: 'login' } // 307 to /login
  | { kind: 'redirect'; to: string }
  | { kind: 'render'; marker: string; contains?: string[]; lacks?: string[] }
  | { kind: 'refused'; message: string }
  | { kind: 'status'; status: number };

type PageRow = (p: Principal) => PageExpect;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#x27;');

/** A page behind pageAccess(): sign-in for no session, the page or the refusal for a session. */
function guardedPage(title: string, rule: Rule, checks: Partial<Record<Role, { contains?: string[]; lacks?: string[] }>> = {}): PageRow {
  return (p) => {
    if (!isRole(p)) return { kind: 'login' };
    if (!rule.allow.includes(p)) return { kind: 'refused', message: refusal(p, rule) };
    return { kind: 'render', marker: `>${esc(title)}</h1>`, ...checks[p] };
  };
}

const STATUS_SECTION = 'id="status-title"';
const PREFIX_READONLY = 'data-testid="prefix-readonly"';
const PREFIX_FIELD = 'name="filenamePrefix"';
const OTP_GUIDANCE = 'data-testid="otp-guidance"';
const ACCOUNT_LIST = 'id="list-title"';
const BACKUP_NOW = '>Backup now</button>';
const DMS_FIELD = 'name="dms"';
const SCHEDULE_FIELD = 'name="retention"';
const SCHEDULE_READONLY = 'data-testid="schedule-readonly"';
const STORAGE_FIELD = 'name="type"';
const STORAGE_READONLY = 'data-testid="storage-readonly"';
const VERIFY_SCHEDULE_FIELD = 'name="everyDays"';
const VERIFY_SCHEDULE_READONLY = 'data-testid="verify-schedule-readonly"';
const BACKUP_NOW_NOT_ALLOWED = 'data-testid="backup-now-not-allowed"';

const PAGES: Record<string, PageRow> = {
  // Everyone signed in reaches /backup; what they see follows the role.
  '/backup': guardedPage(
    'Backup',
    { allow: ALL_ROLES, cannot: 'read backup status and history', backup: true },
    {
      otp: {
        contains: [OTP_GUIDANCE, esc(OTP_BACKUP_GUIDANCE)],
        lacks: [STATUS_SECTION, PREFIX_READONLY, BACKUP_NOW, DMS_FIELD, SCHEDULE_FIELD, SCHEDULE_READONLY, STORAGE_FIELD, STORAGE_READONLY, VERIFY_SCHEDULE_FIELD, VERIFY_SCHEDULE_READONLY, PREFIX_FIELD],
      },
      support: {
        contains: [STATUS_SECTION, PREFIX_READONLY, SCHEDULE_READONLY, STORAGE_READONLY, VERIFY_SCHEDULE_READONLY, BACKUP_NOW_NOT_ALLOWED],
        lacks: [PREFIX_FIELD, OTP_GUIDANCE, BACKUP_NOW, DMS_FIELD, SCHEDULE_FIELD, STORAGE_FIELD, VERIFY_SCHEDULE_FIELD],
      },
      operator: {
        contains: [STATUS_SECTION, PREFIX_READONLY, BACKUP_NOW, SCHEDULE_READONLY, STORAGE_READONLY, VERIFY_SCHEDULE_READONLY],
        lacks: [PREFIX_FIELD, OTP_GUIDANCE, DMS_FIELD, SCHEDULE_FIELD, STORAGE_FIELD, VERIFY_SCHEDULE_FIELD],
      },
      admin: {
        contains: [STATUS_SECTION, PREFIX_FIELD, BACKUP_NOW, SCHEDULE_FIELD, STORAGE_FIELD, VERIFY_SCHEDULE_FIELD],
        lacks: [OTP_GUIDANCE, SCHEDULE_READONLY, STORAGE_READONLY, VERIFY_SCHEDULE_READONLY],
      },
    },
  ),
  '/users': guardedPage(
    'User accounts',
    { allow: ['otp', 'admin'], cannot: 'create user accounts' },
    { otp: { contains: ['name="username"'], lacks: [ACCOUNT_LIST] }, admin: { contains: ['name="username"', ACCOUNT_LIST] } },
  ),
  '/settings/sign-in': guardedPage('Sign-in settings', { allow: ['admin'], cannot: 'configure sign-in' }, { admin: { contains: ['name="issuer"'] } }),
  '/settings/tokens': guardedPage('API tokens', { allow: ['admin'], cannot: 'issue or revoke API tokens' }, { admin: { contains: ['id="issue-token-title"'] } }),
  '/audit': guardedPage('Audit trail', { allow: ['admin'], cannot: 'read the audit trail' }),
  '/devices': guardedPage('Managed devices', { allow: ['support', 'operator', 'admin'], cannot: 'read managed devices and their backups', backup: true }),
  '/settings/alerts': guardedPage('Alerts', { allow: ['admin'], cannot: 'configure alerts' }, { admin: { contains: ['id="add-channel-title"'] } }),
  // Static redirect to /backup, which decides.
  '/': (p) => (p === 'anonymous' ? { kind: 'login' } : { kind: 'redirect', to: '/backup' }),
  '/login': (p) => (isRole(p) ? { kind: 'redirect', to: '/backup' } : { kind: 'render', marker: 'Sign in to the Software Appliance.' }),
  // Next's own pages: nothing of the console in them.
  '/_not-found': (p) => (p === 'anonymous' ? { kind: 'login' } : { kind: 'status', status: 404 }),
  '/_global-error': (p) => (p === 'anonymous' ? { kind: 'login' } : { kind: 'status', status: 500 }),
  // Every signed-in account; the password form only for password accounts (the OTP User is told why not).
  '/account': guardedPage(
    'My account',
    { allow: ALL_ROLES, cannot: 'nothing' },
    { otp: { lacks: ['name="currentPassword"'] }, support: { contains: ['name="currentPassword"'] }, admin: { contains: ['name="currentPassword"'] } },
  ),
};

// ---------------------------------------------------------------------------
// The expected matrix: route handlers (pattern -> method -> rule)
// ---------------------------------------------------------------------------

type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';
/**
 * { public: status }: no session needed, the same answer for everyone (next-auth answers HEAD with its own 400).
 * 'options': Next's automatic OPTIONS, the Allow header and no data; behind the proxy for anonymous.
 */
type RouteRule = Rule | { public: number } | 'options';
const PUBLIC = { public: 200 };

const ME: Rule = { allow: ALL_ROLES, cannot: 'nothing' };
const AUDIT_READ: Rule = { allow: ['admin'], cannot: 'read the audit trail' };
const BACKUP_READ: Rule = { allow: ['support', 'operator', 'admin'], cannot: 'read backup status and history', backup: true };
const BACKUP_CONFIGURE: Rule = { allow: ['admin'], cannot: 'change backup settings', backup: true };
const BACKUP_RUN: Rule = { allow: ['operator', 'admin'], cannot: 'start backups', backup: true };
const BACKUP_VERIFY: Rule = { allow: ['operator', 'admin'], cannot: 'verify backups', backup: true };
const BACKUP_RESTORE: Rule = { allow: ['admin'], cannot: 'restore backups', backup: true };
const STORAGE_BROWSE: Rule = { allow: ['support', 'operator', 'admin'], cannot: 'browse storage locations', backup: true };
const USERS_MANAGE: Rule = { allow: ['admin'], cannot: 'manage user accounts' };
const USERS_CREATE: Rule = { allow: ['otp', 'admin'], cannot: 'create user accounts' };
const AUTH_CONFIGURE: Rule = { allow: ['admin'], cannot: 'configure sign-in' };
const TOKENS_MANAGE: Rule = { allow: ['admin'], cannot: 'issue or revoke API tokens' };
const DEVICES_READ: Rule = { allow: ['support', 'operator', 'admin'], cannot: 'read managed devices and their backups', backup: true };
const DEVICES_RUN: Rule = { allow: ['operator', 'admin'], cannot: 'start device backups', backup: true };
const DEVICES_DOWNLOAD: Rule = { allow: ['operator', 'admin'], cannot: 'download device backups', backup: true };
const DEVICES_CONFIGURE: Rule = { allow: ['admin'], cannot: 'change managed devices, their keys or the organisation backup configuration', backup: true };
const ALERTS_CONFIGURE: Rule = { allow: ['admin'], cannot: 'configure alerts' };

const ROUTES: Record<string, Partial<Record<Method, RouteRule>>> = {
  '/api/health': { GET: PUBLIC, HEAD: PUBLIC, OPTIONS: { public: 204 } },
  '/api/auth/[...nextauth]': { GET: PUBLIC, HEAD: { public: 400 }, POST: PUBLIC, OPTIONS: { public: 204 } },
  '/api/me': { GET: ME, HEAD: ME, OPTIONS: 'options' },
  '/api/audit': { GET: AUDIT_READ, HEAD: AUDIT_READ, OPTIONS: 'options' },
  '/api/backup/settings': { GET: BACKUP_READ, HEAD: BACKUP_READ, PUT: BACKUP_CONFIGURE, OPTIONS: 'options' },
  '/api/backup/status': { GET: BACKUP_READ, HEAD: BACKUP_READ, OPTIONS: 'options' },
  // Write-once: walked in its own order (refused principals first), see "the Domain Master Secret" below.
  '/api/backup/dms': { GET: BACKUP_READ, HEAD: BACKUP_READ, PUT: BACKUP_CONFIGURE, OPTIONS: 'options' },
  '/api/backup/storage': { GET: BACKUP_READ, HEAD: BACKUP_READ, PUT: BACKUP_CONFIGURE, OPTIONS: 'options' },
  '/api/backup/schedule': { GET: BACKUP_READ, HEAD: BACKUP_READ, PUT: BACKUP_CONFIGURE, OPTIONS: 'options' },
  '/api/backup/verify-schedule': { GET: BACKUP_READ, HEAD: BACKUP_READ, PUT: BACKUP_CONFIGURE, OPTIONS: 'options' },
  '/api/verifications': { GET: BACKUP_READ, HEAD: BACKUP_READ, POST: BACKUP_VERIFY, OPTIONS: 'options' },
  '/api/verifications/[id]': { GET: BACKUP_READ, HEAD: BACKUP_READ, OPTIONS: 'options' },
  '/api/backups': { GET: BACKUP_READ, HEAD: BACKUP_READ, POST: BACKUP_RUN, OPTIONS: 'options' },
  '/api/backups/[id]': { GET: BACKUP_READ, HEAD: BACKUP_READ, OPTIONS: 'options' },
  '/api/backups/[id]/details': { GET: BACKUP_READ, HEAD: BACKUP_READ, OPTIONS: 'options' },
  '/api/storage/browse': { GET: STORAGE_BROWSE, HEAD: STORAGE_BROWSE, OPTIONS: 'options' },
  '/api/storage/details': { GET: BACKUP_READ, HEAD: BACKUP_READ, OPTIONS: 'options' },
  '/api/storage/usb': { GET: STORAGE_BROWSE, HEAD: STORAGE_BROWSE, OPTIONS: 'options' },
  '/api/storage/usb/[uuid]/eject': { POST: BACKUP_CONFIGURE, OPTIONS: 'options' },
  '/api/users': { GET: USERS_MANAGE, HEAD: USERS_MANAGE, POST: USERS_CREATE, OPTIONS: 'options' },
  '/api/users/[id]': { DELETE: USERS_MANAGE, PATCH: USERS_MANAGE, OPTIONS: 'options' },
  '/api/tokens': { GET: TOKENS_MANAGE, HEAD: TOKENS_MANAGE, POST: TOKENS_MANAGE, OPTIONS: 'options' },
  '/api/tokens/[id]': { DELETE: TOKENS_MANAGE, OPTIONS: 'options' },
  '/api/fleet/config': { GET: DEVICES_READ, HEAD: DEVICES_READ, PUT: DEVICES_CONFIGURE, OPTIONS: 'options' },
  '/api/fleet/encryption-key': { PUT: DEVICES_CONFIGURE, OPTIONS: 'options' },
  '/api/fleet/status': { GET: DEVICES_READ, HEAD: DEVICES_READ, OPTIONS: 'options' },
  '/api/fleet/runs': { POST: DEVICES_RUN, OPTIONS: 'options' },
  '/api/fleet/runs/[id]': { GET: DEVICES_READ, HEAD: DEVICES_READ, OPTIONS: 'options' },
  '/api/fleet/runs/[id]/cancel': { POST: DEVICES_RUN, OPTIONS: 'options' },
  '/api/devices': { GET: DEVICES_READ, HEAD: DEVICES_READ, POST: DEVICES_CONFIGURE, OPTIONS: 'options' },
  '/api/devices/[name]': { GET: DEVICES_READ, HEAD: DEVICES_READ, PATCH: DEVICES_CONFIGURE, DELETE: DEVICES_CONFIGURE, OPTIONS: 'options' },
  '/api/devices/[name]/approve': { POST: DEVICES_CONFIGURE, OPTIONS: 'options' },
  '/api/devices/[name]/backup': { PUT: DEVICES_CONFIGURE, OPTIONS: 'options' },
  '/api/devices/[name]/backups': { GET: DEVICES_READ, HEAD: DEVICES_READ, OPTIONS: 'options' },
  '/api/devices/[name]/backups/[id]/download': { GET: DEVICES_DOWNLOAD, HEAD: DEVICES_DOWNLOAD, OPTIONS: 'options' },
  '/api/devices/[name]/encryption-key': { PUT: DEVICES_CONFIGURE, OPTIONS: 'options' },
  '/api/devices/[name]/host-key': { POST: DEVICES_CONFIGURE, OPTIONS: 'options' },
  '/api/restore': { GET: BACKUP_RESTORE, HEAD: BACKUP_RESTORE, POST: BACKUP_RESTORE, OPTIONS: 'options' },
  '/api/restore/plan': { POST: BACKUP_RESTORE, OPTIONS: 'options' },
  // Not behind the proxy (it would cut the body to 10 MB): Next's automatic OPTIONS answers everyone, with no data.
  '/api/restore/upload': { POST: BACKUP_RESTORE, OPTIONS: { public: 204 } },
  '/api/restore/incoming/[id]': { DELETE: BACKUP_RESTORE, OPTIONS: 'options' },
  '/api/restore/remote/probe': { POST: BACKUP_RESTORE, OPTIONS: 'options' },
  '/api/restore/remote/pin': { POST: BACKUP_RESTORE, OPTIONS: 'options' },
  '/api/restore/remote/fetch': { POST: BACKUP_RESTORE, OPTIONS: 'options' },
  '/api/me/password': { POST: ME, OPTIONS: 'options' },
  '/api/alerts/channels': { GET: ALERTS_CONFIGURE, HEAD: ALERTS_CONFIGURE, POST: ALERTS_CONFIGURE, OPTIONS: 'options' },
  '/api/alerts/channels/[id]': { PUT: ALERTS_CONFIGURE, DELETE: ALERTS_CONFIGURE, OPTIONS: 'options' },
  '/api/alerts/channels/[id]/test': { POST: ALERTS_CONFIGURE, OPTIONS: 'options' },
  '/api/audit/export': { GET: AUDIT_READ, HEAD: AUDIT_READ, OPTIONS: 'options' },
};

/** No such device: an allowed principal reaches the handler and hears so, a refused one gets the role's refusal first. */
const NO_DEVICE = 'fw-matrix-none';

/** A concrete URL for each pattern (dynamic segments filled in). */
const SAMPLE_PATH: Record<string, string> = {
  '/api/health': '/api/health',
  '/api/auth/[...nextauth]': '/api/auth/session',
  '/api/me': '/api/me',
  '/api/audit': '/api/audit',
  '/api/audit/export': '/api/audit/export',
  '/api/backup/settings': '/api/backup/settings',
  '/api/backup/status': '/api/backup/status',
  '/api/backup/dms': '/api/backup/dms',
  '/api/backup/storage': '/api/backup/storage',
  '/api/backup/schedule': '/api/backup/schedule',
  '/api/backup/verify-schedule': '/api/backup/verify-schedule',
  '/api/verifications': '/api/verifications',
  '/api/verifications/[id]': '/api/verifications/1',
  '/api/backups': '/api/backups',
  '/api/backups/[id]': '/api/backups/1',
  '/api/backups/[id]/details': '/api/backups/1/details',
  '/api/storage/browse': '/api/storage/browse',
  '/api/storage/details': '/api/storage/details',
  '/api/storage/usb': '/api/storage/usb',
  '/api/storage/usb/[uuid]/eject': '/api/storage/usb/00000000-0000-0000-0000-000000000000/eject',
  '/api/restore': '/api/restore',
  '/api/restore/plan': '/api/restore/plan',
  '/api/restore/upload': '/api/restore/upload',
  '/api/restore/incoming/[id]': '/api/restore/incoming/upload-00000000.part',
  '/api/restore/remote/probe': '/api/restore/remote/probe',
  '/api/restore/remote/pin': '/api/restore/remote/pin',
  '/api/restore/remote/fetch': '/api/restore/remote/fetch',
  '/api/users': '/api/users',
  '/api/users/[id]': '/api/users/1',
  '/api/tokens': '/api/tokens',
  '/api/tokens/[id]': '/api/tokens/1',
  '/api/fleet/config': '/api/fleet/config',
  '/api/fleet/encryption-key': '/api/fleet/encryption-key',
  '/api/fleet/status': '/api/fleet/status',
  '/api/fleet/runs': '/api/fleet/runs',
  '/api/fleet/runs/[id]': '/api/fleet/runs/999999',
  '/api/fleet/runs/[id]/cancel': '/api/fleet/runs/999999/cancel',
  '/api/devices': '/api/devices',
  '/api/devices/[name]': `/api/devices/${NO_DEVICE}`,
  '/api/devices/[name]/approve': `/api/devices/${NO_DEVICE}/approve`,
  '/api/devices/[name]/backup': `/api/devices/${NO_DEVICE}/backup`,
  '/api/devices/[name]/backups': `/api/devices/${NO_DEVICE}/backups`,
  '/api/devices/[name]/backups/[id]/download': `/api/devices/${NO_DEVICE}/backups/1/download`,
  '/api/devices/[name]/encryption-key': `/api/devices/${NO_DEVICE}/encryption-key`,
  '/api/devices/[name]/host-key': `/api/devices/${NO_DEVICE}/host-key`,
  '/api/me/password': '/api/me/password',
  '/api/alerts/channels': '/api/alerts/channels',
  '/api/alerts/channels/[id]': '/api/alerts/channels/999999',
  '/api/alerts/channels/[id]/test': '/api/alerts/channels/999999/test',
};

// ---------------------------------------------------------------------------
// The expected matrix: server actions (filename#exportedName)
// ---------------------------------------------------------------------------

const ACTIONS: Record<string, Rule> = {
  'app/(console)/backup/actions.ts#saveBackupSettingsAction': BACKUP_CONFIGURE,
  // Write-once: walked in its own order, see "the Domain Master Secret" below.
  'app/(console)/backup/actions.ts#setDmsAction': BACKUP_CONFIGURE,
  'app/(console)/backup/actions.ts#saveScheduleAction': BACKUP_CONFIGURE,
  'app/(console)/backup/actions.ts#saveVerifyScheduleAction': BACKUP_CONFIGURE,
  'app/(console)/backup/actions.ts#saveStorageAction': BACKUP_CONFIGURE,
  'app/(console)/backup/actions.ts#backupNowAction': BACKUP_RUN,
  'app/(console)/settings/sign-in/actions.ts#saveOidcAction': AUTH_CONFIGURE,
  'app/(console)/users/actions.ts#createUserAction': USERS_CREATE,
  'app/(console)/users/actions.ts#deleteUserAction': USERS_MANAGE,
  'app/(console)/users/actions.ts#removeOtpUserAction': USERS_MANAGE,
  'app/(console)/settings/tokens/actions.ts#issueTokenAction': TOKENS_MANAGE,
  'app/(console)/settings/tokens/actions.ts#revokeTokenAction': TOKENS_MANAGE,
  'app/(console)/users/actions.ts#changeRoleAction': USERS_MANAGE,
  'app/(console)/users/actions.ts#resetPasswordAction': USERS_MANAGE,
  'app/(console)/users/actions.ts#setDisabledAction': USERS_MANAGE,
  // Any signed-in account; the OTP User reaches the action and is told it has a one-time password (see its probe).
  'app/(console)/account/actions.ts#changeOwnPasswordAction': ME,
  'app/(console)/settings/alerts/actions.ts#saveChannelAction': ALERTS_CONFIGURE,
  'app/(console)/settings/alerts/actions.ts#testChannelAction': ALERTS_CONFIGURE,
  'app/(console)/settings/alerts/actions.ts#enableChannelAction': ALERTS_CONFIGURE,
  'app/(console)/settings/alerts/actions.ts#removeChannelAction': ALERTS_CONFIGURE,
  'app/(console)/settings/alerts/actions.ts#saveReminderAction': ALERTS_CONFIGURE,
};

// ---------------------------------------------------------------------------
// Build output
// ---------------------------------------------------------------------------

const DIST = path.resolve(ROOT, process.env.WEBCONF_DIST_DIR || '.next');
const readJson = <T>(rel: string): T => JSON.parse(fs.readFileSync(path.join(DIST, rel), 'utf8')) as T;

type Discovered = {
  pages: string[];
  routes: string[];
  /** filename#exportedName -> { id, pages (URL paths whose worker holds it) } */
  actions: Map<string, { id: string; pages: string[] }>;
};

function discover(): Discovered {
  const appPaths = readJson<Record<string, string>>('server/app-paths-manifest.json');
  const toUrl = readJson<Record<string, string>>('app-path-routes-manifest.json');
  const url = (entry: string) => {
    const u = toUrl[entry];
    if (!u) throw new Error(`${entry} is in app-paths-manifest.json but not in app-path-routes-manifest.json`);
    return u;
  };
  const entries = Object.keys(appPaths);
  const pages = entries.filter((e) => e.endsWith('/page')).map(url);
  const routes = entries.filter((e) => e.endsWith('/route')).map(url);
  const refs = readJson<{ node: Record<string, RefEntry>; edge: Record<string, RefEntry> }>('server/server-reference-manifest.json');
  const actions = new Map<string, { id: string; pages: string[] }>();
  for (const [id, e] of [...Object.entries(refs.node ?? {}), ...Object.entries(refs.edge ?? {})]) {
    const key = `${e.filename}#${e.exportedName}`;
    const workerPages = Object.keys(e.workers).map((w) => url(`/${w.replace(/^app\//, '')}`));
    const prev = actions.get(key);
    if (prev && prev.id !== id) throw new Error(`${key} has two action ids`);
    actions.set(key, { id, pages: workerPages });
  }
  return { pages, routes, actions };
}
type RefEntry = { filename: string; exportedName: string; workers: Record<string, unknown> };

// ---------------------------------------------------------------------------
// The console, the principals, and helpers
// ---------------------------------------------------------------------------

let server: ConsoleServer;
let built: Discovered;
let sqlite: Database.Database;
let otpPassword: string;
let otpRow: Record<string, unknown>;
const clients = {} as Record<Role, ConsoleClient>;
let staleCookies: [string, string][] = [];
let cells = 0;
let requests = 0;

let seq = 0;
const unique = (prefix: string) => `${prefix}${Date.now().toString(36)}${(++seq).toString(36)}`;

/** A client for one request: fresh (no cookie) for anonymous, the signed-out cookie for stale. */
function clientFor(p: Principal): ConsoleClient {
  if (p === 'anonymous') return new ConsoleClient(server.url);
  if (p === 'stale') {
    const c = new ConsoleClient(server.url);
    for (const [k, v] of staleCookies) c.cookies.set(k, v);
    return c;
  }
  return clients[p];
}

const admin = () => clients.admin;

async function adminJson<T>(pathname: string, method = 'GET', body?: unknown): Promise<T> {
  const r = await admin().json<T>(pathname, method, body);
  if (r.status !== 200) throw new Error(`admin ${method} ${pathname}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

type ListedUser = { id: number; username: string; kind: string; role: string };
const listUsers = async () => (await adminJson<{ users: ListedUser[] }>('/api/users')).users;
const userExists = async (username: string) => (await listUsers()).some((u) => u.username === username);
const prefixNow = async () => (await adminJson<{ filenamePrefix: string }>('/api/backup/settings')).filenamePrefix;

async function createVictim(): Promise<ListedUser> {
  const username = unique('victim');
  const r = await adminJson<{ user: ListedUser }>('/api/users', 'POST', {
    username,
    role: 'support',
    password: PASSWORD,
    confirmPassword: PASSWORD,
  });
  return r.user;
}

type ListedToken = { id: number; name: string; revokedAt: string | null };
const listTokens = async () => (await adminJson<{ tokens: ListedToken[] }>('/api/tokens')).tokens;
const tokenIssued = async (name: string) => (await listTokens()).some((t) => t.name === name && !t.revokedAt);
const tokenRevoked = async (id: number) => Boolean((await listTokens()).find((t) => t.id === id)?.revokedAt);
const victimToken = async () => adminJson<ListedToken>('/api/tokens', 'POST', { name: unique('victim'), role: 'support' });

const newUserInput = (username: string) => ({ username, displayName: '', role: 'support', password: PASSWORD, confirmPassword: PASSWORD });

type ListedChannel = { id: number; name: string; enabled: boolean; lastFailedAt: string | null };
const alertsState = async () => adminJson<{ channels: ListedChannel[]; reminderHours: number }>('/api/alerts/channels');
const channelNamed = async (name: string) => (await alertsState()).channels.find((c) => c.name === name);
const channelById = async (id: number) => (await alertsState()).channels.find((c) => c.id === id);
// A webhook to a closed loopback port: a Send test fails in words and leaves the channel's last failure.
const victimChannel = async () =>
  (await adminJson<{ channel: ListedChannel }>('/api/alerts/channels', 'POST', { kind: 'webhook', name: unique('victim'), secret: 'matrix-webhook-secret-0123', config: { url: 'http://127.0.0.1:9/hook' } })).channel;

const usernameOf = (r: Role) => (r === 'otp' ? 'otp' : USERNAME[r]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Backup configuration and runs, as the admin reads them back.

/**
 * Every Domain Master Secret this test sends (only the admin's first one is
 * ever stored). Held to check that none shows up anywhere; never printed:
 * checks on them compare booleans only.
 */
const dmsSecrets: string[] = [];
function dmsCandidate(): string {
  const s = `matrix-dms-${crypto.randomBytes(18).toString('base64url')}`;
  dmsSecrets.push(s);
  return s;
}
const dmsIsSet = async () => (await adminJson<{ set: boolean }>('/api/backup/dms')).set;
type DmsRow = { id: number; verifier: string; sealed: string; set_at: number; set_by: string };
/** The stored DMS row(s), straight from the database (the API says only whether it is set). */
const dmsRows = () => sqlite.prepare('select id, verifier, sealed, set_at, set_by from domain_master_secret').all() as DmsRow[];
/** A digest of the stored DMS row, to compare without printing it. */
const dmsDigest = () => crypto.createHash('sha256').update(JSON.stringify(dmsRows())).digest('hex');

/** Backup folders this test makes (outside the console's data folder); removed at the end. */
const storeDirs: string[] = [];
function newStoreDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-matrix-store-'));
  storeDirs.push(d);
  return d;
}
type StorageConfig = { type: 'none' } | { type: 'local'; path: string };
const storageNow = async () => (await adminJson<{ config: StorageConfig }>('/api/backup/storage')).config;

type ScheduleView = { schedule: { enabled: boolean; cron: string; timezone: string }; retention: number };
const scheduleNow = async (): Promise<ScheduleView> => {
  const b = await adminJson<ScheduleView>('/api/backup/schedule');
  return { schedule: b.schedule, retention: b.retention };
};
let scheduleSeq = 0;
/** A schedule unlike any before it; always turned off, so no scheduled backup gets in the way of the probes. */
function newSchedule(): ScheduleView {
  const n = ++scheduleSeq;
  return { schedule: { enabled: false, cron: `${1 + (n % 58)} ${n % 24} * * ${n % 7}`, timezone: n % 2 ? 'Europe/Berlin' : 'UTC' }, retention: 100 + n };
}

type RunView = { id: number; status: string; trigger: string; requestedBy: string; fileName: string | null; target: string | null; error: string | null };
const listRuns = async () => (await adminJson<{ runs: RunView[] }>('/api/backups')).runs;
const latestRunId = async () => Math.max(0, ...(await listRuns()).map((r) => r.id));

/** Waits until no backup runs (a second start while one runs is a 409 by design). */
async function waitIdle(): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const s = await adminJson<{ current: string }>('/api/backup/status');
    if (s.current === 'NOT RUNNING') return;
    if (Date.now() > deadline) throw new Error('a backup is still running after 60 s');
    await sleep(100);
  }
}

/**
 * What Backup now needs: the DMS (set by the DMS rows, which run first; set
 * here only when those were filtered out) and a local storage folder.
 */
async function ensureBackupReady(): Promise<void> {
  if (!(await dmsIsSet())) {
    const dms = dmsCandidate();
    const r = await admin().json('/api/backup/dms', 'PUT', { dms, dmsRepeat: dms });
    if (r.status !== 200) throw new Error(`admin could not set the DMS: ${r.status}`);
  }
  if ((await storageNow()).type !== 'local') await adminJson('/api/backup/storage', 'PUT', { type: 'local', path: newStoreDir() });
  await waitIdle();
}

/**
 * Did an attempt start a backup? Waits for it to end, then: exactly one new
 * run, manual, by this principal, succeeded, its file in the storage folder.
 */
async function backupStarted(ctx: Record<string, unknown>, p: Principal): Promise<boolean> {
  await waitIdle();
  const fresh = (await listRuns()).filter((r) => r.id > (ctx.before as number));
  if (fresh.length && isRole(p)) {
    expect(fresh, `${p}: one run per start`).toHaveLength(1);
    expect(fresh[0], `${p}: the run`).toMatchObject({ trigger: 'manual', requestedBy: usernameOf(p), status: 'succeeded', error: null });
    const store = await storageNow();
    expect(store.type).toBe('local');
    if (store.type === 'local') expect(fs.existsSync(path.join(store.path, fresh[0]!.fileName ?? '')), `${p}: the backup file is there`).toBe(true);
  }
  return fresh.length > 0;
}

/**
 * The removeOtpUser row removes the OTP user for real; before anything the
 * OTP user does, it is put back (the same row, straight into the database:
 * no API creates an OTP user) and signed in again.
 */
async function ensureOtp(): Promise<void> {
  const present = sqlite.prepare("select count(*) as n from users where kind = 'otp'").get() as { n: number };
  if (present.n > 0) return;
  sqlite
    .prepare(
      'insert into users (id, username, display_name, kind, role, password_hash, created_at, created_by) values (@id, @username, @display_name, @kind, @role, @password_hash, @created_at, @created_by)',
    )
    .run(otpRow);
  const c = new ConsoleClient(server.url);
  const res = await c.signIn('otp', otpPassword);
  if (!res.ok) throw new Error(`OTP user could not sign in again: ${JSON.stringify(res)}`);
  clients.otp = c;
}

const locationOf = (res: Response): string | null => {
  const loc = res.headers.get('location');
  if (!loc) return null;
  const u = new URL(loc, server.url);
  return u.pathname + u.search;
};

// ---------------------------------------------------------------------------
// Server actions over HTTP, as the browser sends them
// ---------------------------------------------------------------------------

type ActionState = { ok?: boolean; code?: string; message?: string; values?: Record<string, string> };

/**
 * A useActionState form calls action(prevState, formData); React's
 * encodeReply sends the FormData's fields as "_1_<name>" and the argument list
 * as the root field "0", appended last (the server resolves the root as soon
 * as it arrives, so fields sent after it would be missing).
 */
function actionBody(fields: Record<string, string>): FormData {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) fd.append(`_1_${k}`, v);
  fd.append('0', JSON.stringify(['$undefined', '$K1']));
  return fd;
}

/** The action's return value in the RSC payload: row 0 names it ("a": "$@<row>"). */
function parseActionState(text: string): ActionState | 'error' | null {
  const rows = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+):(.*)$/.exec(line);
    if (m) rows.set(m[1]!, m[2]!);
  }
  const root = rows.get('0');
  if (!root) return null;
  let ref: unknown;
  try {
    ref = (JSON.parse(root) as { a?: unknown }).a;
  } catch {
    return null;
  }
  if (typeof ref !== 'string' || !ref.startsWith('$@')) return null;
  const raw = rows.get(ref.slice(2));
  if (raw === undefined) return null;
  if (raw.startsWith('E')) return 'error';
  return JSON.parse(raw) as ActionState;
}

async function callAction(
  c: ConsoleClient,
  id: string,
  page: string,
  fields: Record<string, string>,
  headers: Record<string, string>,
): Promise<{ status: number; location: string | null; state: ActionState | 'error' | null; contentType: string }> {
  const res = await c.fetch(page, {
    method: 'POST',
    headers: { 'next-action': id, origin: server.url, accept: 'text/x-component', ...headers },
    body: actionBody(fields),
  });
  requests++;
  const text = await res.text();
  const contentType = res.headers.get('content-type') ?? '';
  return { status: res.status, location: locationOf(res), state: contentType.includes('text/x-component') ? parseActionState(text) : null, contentType };
}

// ---------------------------------------------------------------------------
// Setup
// ---------------------------------------------------------------------------

beforeAll(async () => {
  built = discover();
  server = await startConsole();
  if (!server.otpPassword) throw new Error('no OTP password in the first-start banner');
  otpPassword = server.otpPassword;
  sqlite = new Database(path.join(server.dataDir, 'webconf.db'));
  sqlite.pragma('busy_timeout = 5000');
  otpRow = sqlite
    .prepare("select id, username, display_name, kind, role, password_hash, created_at, created_by from users where kind = 'otp'")
    .get() as Record<string, unknown>;

  // The OTP user creates the first admin; the admin creates the others.
  clients.otp = new ConsoleClient(server.url);
  expect(await clients.otp.signIn('otp', otpPassword)).toMatchObject({ ok: true });
  const created = await clients.otp.json('/api/users', 'POST', { ...newUserInput(USERNAME.admin), role: 'admin' });
  expect(created.status).toBe(200);
  clients.admin = new ConsoleClient(server.url);
  expect(await clients.admin.signIn(USERNAME.admin, PASSWORD)).toMatchObject({ ok: true });
  for (const role of ['operator', 'support'] as const) {
    const r = await clients.admin.json('/api/users', 'POST', { ...newUserInput(USERNAME[role]), role });
    expect(r.status).toBe(200);
    clients[role] = new ConsoleClient(server.url);
    expect(await clients[role].signIn(USERNAME[role], PASSWORD)).toMatchObject({ ok: true });
  }

  // A signed-out session: the cookie is still sent, the session is revoked.
  const leaving = new ConsoleClient(server.url);
  const r = await clients.admin.json('/api/users', 'POST', { ...newUserInput('matrix-stale'), role: 'admin' });
  expect(r.status).toBe(200);
  expect(await leaving.signIn('matrix-stale', PASSWORD)).toMatchObject({ ok: true });
  staleCookies = [...leaving.cookies].filter(([k]) => k.endsWith('webconf.session'));
  expect(staleCookies).toHaveLength(1);
  const { csrfToken } = (await (await leaving.fetch('/api/auth/csrf')).json()) as { csrfToken: string };
  const out = await leaving.fetch('/api/auth/signout', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
    body: new URLSearchParams({ csrfToken, json: 'true', callbackUrl: '/login' }).toString(),
  });
  expect(out.status).toBe(200);
  expect((await clientFor('stale').json('/api/me')).status).toBe(401);

  for (const role of ROLES) expect((await clients[role].json<{ role: string }>('/api/me')).body.role).toBe(role);
});

afterAll(async () => {
  sqlite?.close();
  await server?.stop();
  for (const d of storeDirs) fs.rmSync(d, { recursive: true, force: true });
  // eslint-disable-next-line no-console
  console.log(`access matrix: ${cells} cells (row x principal), ${requests} requests (each cell plain and with ${BYPASS_HEADERS.length} bypass headers)`);
});

// ---------------------------------------------------------------------------
// Completeness: the build has exactly what the tables describe
// ---------------------------------------------------------------------------

describe('the matrix covers the whole build', () => {
  it('every page is in the table, and every table page exists', () => {
    expect([...built.pages].sort()).toEqual(Object.keys(PAGES).sort());
  });

  it('every route handler is in the table, and every table route exists', () => {
    expect([...built.routes].sort()).toEqual(Object.keys(ROUTES).sort());
    expect(Object.keys(SAMPLE_PATH).sort()).toEqual(Object.keys(ROUTES).sort());
  });

  it('every method of every route handler is in the table (Allow header of the automatic OPTIONS)', async () => {
    for (const [pattern, methods] of Object.entries(ROUTES)) {
      const res = await admin().fetch(SAMPLE_PATH[pattern]!, { method: 'OPTIONS' });
      expect(res.status, pattern).toBe(204);
      const allow = (res.headers.get('allow') ?? '').split(',').map((m) => m.trim()).filter(Boolean).sort();
      expect(allow, `methods of ${pattern}`).toEqual(Object.keys(methods).sort());
    }
  });

  it('every server action is in the table, and every table action exists', () => {
    expect([...built.actions.keys()].sort()).toEqual(Object.keys(ACTIONS).sort());
    for (const [key, a] of built.actions) expect(a.pages.length, `${key} is used by a page`).toBeGreaterThan(0);
  });
});

// ---------------------------------------------------------------------------
// The walk: every principal plain (the matrix itself), then every principal
// again with each bypass header. Each attempt is checked against the table;
// with a header, its outcome must also equal the plain one.
// ---------------------------------------------------------------------------

type Variant = (typeof VARIANTS)[number];

async function walk<S>(
  label: string,
  attempt: (p: Principal, v: Variant, where: string) => Promise<S>,
  principals: readonly Principal[] = PRINCIPALS,
): Promise<void> {
  const plain = new Map<Principal, S>();
  for (const v of VARIANTS) {
    for (const p of principals) {
      if (p === 'otp') await ensureOtp();
      const where = `${p} ${label} (${v.name})`;
      const seen = await attempt(p, v, where);
      if (v === VARIANTS[0]) {
        cells++;
        plain.set(p, seen);
      } else {
        expect(seen, `${where}: the same outcome as without the header`).toEqual(plain.get(p));
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------

type PageSeen = { status: number; location: string | null; refused: string | null };

async function visit(p: Principal, pathname: string, headers: Record<string, string>): Promise<{ seen: PageSeen; html: string }> {
  const res = await clientFor(p).fetch(pathname, { headers });
  requests++;
  const html = await res.text();
  // The banner holds its message in an inner element (app/ui/banner.tsx).
  const m = /data-testid="refused"[^>]*>(?:<div[^>]*>)?([^<]*)</.exec(html);
  return { seen: { status: res.status, location: locationOf(res), refused: m ? m[1]! : null }, html };
}

function checkPage(where: string, want: PageExpect, seen: PageSeen, html: string) {
  switch (want.kind) {
    case 'login':
      expect(seen.status, where).toBe(307);
      expect(new URL(seen.location ?? '', server.url).pathname, where).toBe('/login');
      break;
    case 'redirect':
      expect(seen.status, where).toBe(307);
      expect(seen.location, where).toBe(want.to);
      break;
    case 'status':
      expect(seen.status, where).toBe(want.status);
      break;
    case 'refused':
      expect(seen.status, where).toBe(200);
      expect(seen.refused, where).toBe(esc(want.message));
      break;
    case 'render':
      expect(seen.status, where).toBe(200);
      expect(seen.refused, where).toBeNull();
      expect(html, where).toContain(want.marker);
      for (const s of want.contains ?? []) expect(html, `${where} shows ${s}`).toContain(s);
      for (const s of want.lacks ?? []) expect(html, `${where} must not show ${s}`).not.toContain(s);
      break;
  }
}

describe('pages', () => {
  for (const [pathname, row] of Object.entries(PAGES)) {
    it(`GET ${pathname}`, async () => {
      await walk(`GET ${pathname}`, async (p, v, where) => {
        const { seen, html } = await visit(p, pathname, v.headers);
        checkPage(where, row(p), seen, html);
        return seen;
      });
    });
  }
});

// ---------------------------------------------------------------------------
// The Domain Master Secret: write-once, so its rows are walked in their own
// order. Every refused principal first, with every header, through the route
// and the action: after each attempt it is still unset. Then the admin sets it
// once (200); every later attempt, plain or with a header, through the route or
// the action, reaches the store and is told it is already set, and the stored
// secret stays the admin's. Runs before the route handlers and actions, whose
// Backup now rows need the DMS. The secrets are never printed: the checks on
// them compare booleans and digests.
// ---------------------------------------------------------------------------

describe('the Domain Master Secret (write-once)', () => {
  const ROUTE_KEY = 'PUT /api/backup/dms';
  const ACTION_KEY = 'app/(console)/backup/actions.ts#setDmsAction';
  const routeRule = () => ROUTES['/api/backup/dms']!.PUT as Rule;
  const refusedBy = (rule: Rule) => PRINCIPALS.filter((p) => !(isRole(p) && rule.allow.includes(p)));
  const digest = dmsDigest;
  let stored = '';

  async function expectUnset(where: string) {
    expect(await dmsIsSet(), `${where}: the DMS is still unset`).toBe(false);
    expect(dmsRows().length, `${where}: no DMS row`).toBe(0);
  }

  it('the write-once rows are the DMS route and action, with the same rule', () => {
    expect(Object.keys(PROBES).filter((k) => PROBES[k]!.writeOnce)).toEqual([ROUTE_KEY]);
    expect(Object.keys(ACTION_PROBES).filter((k) => ACTION_PROBES[k]!.writeOnce)).toEqual([ACTION_KEY]);
    expect(ACTIONS[ACTION_KEY]).toBe(routeRule());
    expect(routeRule().allow).toEqual(['admin']);
  });

  it(`${ROUTE_KEY}: refused principals, with every header, never set it`, async () => {
    await expectUnset('before');
    const rule = routeRule();
    await walk(
      `${ROUTE_KEY} (refused)`,
      async (p, v, where) => {
        const got = await apiAttempt('PUT', PROBES[ROUTE_KEY]!, { dms: dmsCandidate() }, p, v);
        checkApi(where, 'PUT', expectApi(rule, p), got);
        await expectUnset(where);
        return got.seen;
      },
      refusedBy(rule),
    );
  });

  it(`${ACTION_KEY}: refused principals, with every header, never set it`, async () => {
    const rule = ACTIONS[ACTION_KEY]!;
    await walk(
      `${ACTION_KEY} via POST ${actionPage(ACTION_KEY)} (refused)`,
      async (p, v, where) => {
        const dms = dmsCandidate();
        const got = await actionAttempt(ACTION_KEY, ACTION_PROBES[ACTION_KEY]!.fields({ dms }), p, v);
        checkAction(where, rule, p, got);
        expect(JSON.stringify(got.state ?? {}).includes(dms), `${where}: the state does not echo the DMS`).toBe(false);
        await expectUnset(where);
        return got.seen;
      },
      refusedBy(rule),
    );
  });

  it(`${ROUTE_KEY}: the admin sets it once (200); after that 409 already set, plain and with every header`, async () => {
    const dms = dmsCandidate();
    const first = await apiAttempt('PUT', PROBES[ROUTE_KEY]!, { dms }, 'admin', VARIANTS[0]!);
    cells++;
    expect(first.seen, 'admin, first').toEqual({ status: 200, code: null, message: null });
    expect(first.body).toEqual({ set: true, message: 'DOMAIN MASTER SECRET IS SET.' });
    expect(await dmsIsSet()).toBe(true);
    const rows = dmsRows();
    expect(rows.length).toBe(1);
    expect(rows[0]!.set_by).toBe(USERNAME.admin);
    expect(await verifyPassword(dms, rows[0]!.verifier), 'the stored DMS is the one the admin sent').toBe(true);
    stored = digest();
    for (const v of VARIANTS) {
      const where = `admin ${ROUTE_KEY} again (${v.name})`;
      const got = await apiAttempt('PUT', PROBES[ROUTE_KEY]!, { dms: dmsCandidate() }, 'admin', v);
      expect(got.seen, where).toEqual({ status: 409, code: 'conflict', message: DMS_ALREADY_SET });
      expect(digest() === stored, `${where}: the stored DMS is unchanged`).toBe(true);
    }
    expect(await verifyPassword(dms, dmsRows()[0]!.verifier)).toBe(true);
  });

  it(`${ACTION_KEY}: the admin gets through to the store and is told it is already set, plain and with every header`, async () => {
    expect(stored, 'the DMS was set by the row before').not.toBe('');
    for (const v of VARIANTS) {
      const where = `admin ${ACTION_KEY} (${v.name})`;
      const dms = dmsCandidate();
      const got = await actionAttempt(ACTION_KEY, ACTION_PROBES[ACTION_KEY]!.fields({ dms }), 'admin', v);
      if (v === VARIANTS[0]) cells++;
      expect(got.r.status, where).toBe(200);
      expect(got.state, where).toMatchObject({ ok: false, code: 'failed', message: DMS_ALREADY_SET });
      expect(JSON.stringify(got.state).includes(dms), `${where}: the state does not echo the DMS`).toBe(false);
      expect(digest() === stored, `${where}: the stored DMS is unchanged`).toBe(true);
    }
  });

  it('after it is set, the refusals read the same (the role check comes before the store)', async () => {
    for (const p of refusedBy(routeRule())) {
      if (p === 'otp') await ensureOtp();
      const got = await apiAttempt('PUT', PROBES[ROUTE_KEY]!, { dms: dmsCandidate() }, p, VARIANTS[0]!);
      checkApi(`${p} ${ROUTE_KEY} (set)`, 'PUT', expectApi(routeRule(), p), got);
      const act = await actionAttempt(ACTION_KEY, ACTION_PROBES[ACTION_KEY]!.fields({ dms: dmsCandidate() }), p, VARIANTS[0]!);
      checkAction(`${p} ${ACTION_KEY} (set)`, ACTIONS[ACTION_KEY]!, p, act);
      expect(digest() === stored).toBe(true);
    }
  });
});

// ---------------------------------------------------------------------------
// Route handlers
// ---------------------------------------------------------------------------

type ApiSeen = { status: number; code: string | null; message: string | null };

/** How each route handler method is exercised: the request, and what proves it happened. */
type Probe = {
  prepare?: () => Promise<Record<string, unknown>>;
  request: (ctx: Record<string, unknown>) => { path: string; body?: unknown; contentType?: string };
  /** Did it take effect? Asked after every attempt: true only for allowed principals. */
  effect?: (ctx: Record<string, unknown>, p: Principal) => Promise<boolean>;
  /** For allowed principals: the answer carries the data it should. */
  data?: (body: unknown, p: Principal, ctx: Record<string, unknown>) => void;
  /** The status an allowed principal gets; 200 unless said. */
  okStatus?: number;
  /** Write-once (the DMS): walked in its own order, see "the Domain Master Secret" below. */
  writeOnce?: true;
  /**
   * For allowed principals: the refusal past the role check that proves the request reached the
   * handler (a restore that would replace this console's own state under the test, a host that does
   * not listen), instead of a success. Refused principals get the role's refusal before it.
   */
  allowedAnswer?: { status: number; code: string; message: RegExp };
};

const json = (body: unknown) => ({ body: JSON.stringify(body), contentType: 'application/json' });

const storageProbe = {
  prepare: async () => ({ before: await storageNow(), value: { type: 'local', path: newStoreDir() } }),
  effect: async (ctx: Record<string, unknown>) => {
    const now = await storageNow();
    const changed = JSON.stringify(now) === JSON.stringify(ctx.value);
    if (!changed) expect(now).toEqual(ctx.before);
    return changed;
  },
};

const scheduleProbe = {
  prepare: async () => ({ before: await scheduleNow(), value: newSchedule() }),
  effect: async (ctx: Record<string, unknown>) => {
    const now = await scheduleNow();
    const changed = JSON.stringify(now) === JSON.stringify(ctx.value);
    if (!changed) expect(now).toEqual(ctx.before);
    return changed;
  },
};

type VerifySchedule = { enabled: boolean; everyDays: number };
const verifyScheduleNow = async () => (await adminJson<{ schedule: VerifySchedule }>('/api/backup/verify-schedule')).schedule;
let verifyScheduleSeq = 0;
/** A setting unlike any before it; always off, so no scheduled verification gets in the way of the probes. */
const newVerifySchedule = (): VerifySchedule => ({ enabled: false, everyDays: 1 + (++verifyScheduleSeq % 365) });
const verifyScheduleProbe = {
  prepare: async () => ({ before: await verifyScheduleNow(), value: newVerifySchedule() }),
  effect: async (ctx: Record<string, unknown>) => {
    const now = await verifyScheduleNow();
    const changed = JSON.stringify(now) === JSON.stringify(ctx.value);
    if (!changed) expect(now).toEqual(ctx.before);
    return changed;
  },
};

type VerificationView = { id: number; status: string; level: string; requestedBy: string; backupRunId: number | null };
const recentVerifications = async () => (await adminJson<{ verifications: VerificationView[] }>('/api/verifications')).verifications;
/** Waits until no verification runs (a second one is a 409 by design). */
async function waitVerifyIdle(): Promise<void> {
  const deadline = Date.now() + 60_000;
  while ((await recentVerifications()).some((v) => v.status === 'running')) {
    if (Date.now() > deadline) throw new Error('a verification is still running after 60 s');
    await sleep(100);
  }
}
/** Some verification to read (a quick one of a backup on the current storage is made when there is none). */
async function someVerificationId(): Promise<number> {
  const [latest] = await recentVerifications();
  if (latest) return latest.id;
  const run = await runOnCurrentStorage();
  const r = await admin().json<{ verification: VerificationView }>('/api/verifications', 'POST', { level: 'quick', runId: run.id });
  if (r.status !== 202) throw new Error(`admin could not start a verification: ${r.status}`);
  await waitVerifyIdle();
  return r.body.verification.id;
}
const latestVerificationId = async () => Math.max(0, ...(await recentVerifications()).map((v) => v.id));
/**
 * Did an attempt start a verification? Waits for it to end, then: exactly
 * one new one, quick, manual, by this principal, of the run, passed.
 */
async function verificationStarted(ctx: Record<string, unknown>, p: Principal): Promise<boolean> {
  await waitVerifyIdle();
  const fresh = (await recentVerifications()).filter((v) => v.id > (ctx.before as number));
  if (fresh.length && isRole(p)) {
    expect(fresh, `${p}: one verification per start`).toHaveLength(1);
    expect(fresh[0], `${p}: the verification`).toMatchObject({ level: 'quick', requestedBy: usernameOf(p), backupRunId: (ctx.run as RunView).id, status: 'passed' });
  }
  return fresh.length > 0;
}

const backupStartProbe = {
  prepare: async () => {
    await ensureBackupReady();
    return { before: await latestRunId() };
  },
  effect: backupStarted,
};

/** A successful run whose file is in the storage location configured now (made when there is none). */
async function runOnCurrentStorage(): Promise<RunView & { dir: string }> {
  await ensureBackupReady();
  const store = (await storageNow()) as { type: 'local'; path: string };
  const label = `Local folder ${store.path}`;
  let run = (await listRuns()).find((r) => r.status === 'succeeded' && r.target === label);
  if (!run) {
    const r = await admin().json<{ run: RunView }>('/api/backups', 'POST');
    if (r.status !== 202) throw new Error(`admin could not start a backup: ${r.status}`);
    await waitIdle();
    run = (await listRuns()).find((x) => x.id === r.body.run.id)!;
    if (run.status !== 'succeeded') throw new Error(`the backup failed: ${run.error}`);
  }
  return { ...run, dir: store.path };
}

/** A folder to browse, with a file in it. */
let browseDir: string | null = null;
function aFolderToBrowse(): string {
  if (!browseDir) {
    browseDir = newStoreDir();
    fs.writeFileSync(path.join(browseDir, 'note.txt'), 'x');
  }
  return browseDir;
}

/** Some backup run to read (one is made when there is none yet). */
async function someRunId(): Promise<number> {
  let id = await latestRunId();
  if (!id) {
    await ensureBackupReady();
    const r = await admin().json('/api/backups', 'POST');
    if (r.status !== 202) throw new Error(`admin could not start a backup: ${r.status}`);
    await waitIdle();
    id = await latestRunId();
  }
  return id;
}

const FLEET_INVALID = { status: 422, code: 'unprocessable', message: /./ };
const NO_SUCH_DEVICE = { status: 404, code: 'not_found', message: new RegExp(`no managed device named "?${NO_DEVICE}`) };
const NO_SUCH_RUN = { status: 404, code: 'not_found', message: /no device backup run 999999/ };

/** The rows of one device route (and its OPTIONS), on a device that does not exist. */
function deviceProbes(suffix: string, methods: Method[], bodies: Partial<Record<Method, unknown>> = {}): Record<string, Probe> {
  const url = `/api/devices/${NO_DEVICE}${suffix.replace('[id]', '1')}`;
  const out: Record<string, Probe> = {};
  for (const m of methods) out[`${m} /api/devices/[name]${suffix}`] = { request: () => ({ path: url, ...(bodies[m] !== undefined ? json(bodies[m]) : {}) }), allowedAnswer: NO_SUCH_DEVICE };
  out[`OPTIONS /api/devices/[name]${suffix}`] = { request: () => ({ path: url }) };
  return out;
}

const PROBES: Record<string, Probe> = {
  // Managed devices: reads answer their data; changes are probed where the handler refuses them past the role check
  // (no such device or run, invalid fields), so no principal's request changes the fleet under the test.
  'GET /api/fleet/config': { request: () => ({ path: '/api/fleet/config' }), data: (b) => expect(JSON.stringify(b)).not.toMatch(/secretKey":"(?!configured)/) },
  'HEAD /api/fleet/config': { request: () => ({ path: '/api/fleet/config' }) },
  'PUT /api/fleet/config': { request: () => ({ path: '/api/fleet/config', ...json({ schedule: { cron: 'not a schedule', timezone: 'UTC' } }) }), allowedAnswer: FLEET_INVALID },
  'OPTIONS /api/fleet/config': { request: () => ({ path: '/api/fleet/config' }) },
  'PUT /api/fleet/encryption-key': { request: () => ({ path: '/api/fleet/encryption-key', ...json({ recipient: 'age1notakey' }) }), allowedAnswer: FLEET_INVALID },
  'OPTIONS /api/fleet/encryption-key': { request: () => ({ path: '/api/fleet/encryption-key' }) },
  'GET /api/fleet/status': { request: () => ({ path: '/api/fleet/status' }), data: (b) => expect(Array.isArray((b as { devices: unknown }).devices)).toBe(true) },
  'HEAD /api/fleet/status': { request: () => ({ path: '/api/fleet/status' }) },
  'OPTIONS /api/fleet/status': { request: () => ({ path: '/api/fleet/status' }) },
  // Nothing is set up for device backups here: the run is refused in words before any device is looked at.
  'POST /api/fleet/runs': { request: () => ({ path: '/api/fleet/runs', ...json({ devices: [NO_DEVICE] }) }), allowedAnswer: { status: 409, code: 'conflict', message: /storage|configur|disabled|key/i } },
  'OPTIONS /api/fleet/runs': { request: () => ({ path: '/api/fleet/runs' }) },
  'GET /api/fleet/runs/[id]': { request: () => ({ path: '/api/fleet/runs/999999' }), allowedAnswer: NO_SUCH_RUN },
  'HEAD /api/fleet/runs/[id]': { request: () => ({ path: '/api/fleet/runs/999999' }), allowedAnswer: NO_SUCH_RUN },
  'OPTIONS /api/fleet/runs/[id]': { request: () => ({ path: '/api/fleet/runs/999999' }) },
  'POST /api/fleet/runs/[id]/cancel': { request: () => ({ path: '/api/fleet/runs/999999/cancel' }), allowedAnswer: NO_SUCH_RUN },
  'OPTIONS /api/fleet/runs/[id]/cancel': { request: () => ({ path: '/api/fleet/runs/999999/cancel' }) },
  'GET /api/devices': { request: () => ({ path: '/api/devices' }), data: (b) => expect(Array.isArray((b as { devices: unknown }).devices)).toBe(true) },
  'HEAD /api/devices': { request: () => ({ path: '/api/devices' }) },
  'POST /api/devices': { request: () => ({ path: '/api/devices', ...json({ name: '', host: '', username: '' }) }), allowedAnswer: FLEET_INVALID },
  'OPTIONS /api/devices': { request: () => ({ path: '/api/devices' }) },
  ...deviceProbes('', ['GET', 'HEAD', 'PATCH', 'DELETE'], { PATCH: { port: 2222 } }),
  ...deviceProbes('/approve', ['POST']),
  ...deviceProbes('/backup', ['PUT'], { PUT: { enabled: false } }),
  ...deviceProbes('/backups', ['GET', 'HEAD']),
  ...deviceProbes('/backups/[id]/download', ['GET', 'HEAD']),
  ...deviceProbes('/encryption-key', ['PUT'], { PUT: { recipient: null } }),
  ...deviceProbes('/host-key', ['POST'], { POST: { fingerprint: 'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU' } }),

  'GET /api/health': { request: () => ({ path: '/api/health' }), data: (b) => expect(b).toEqual({ ok: true }) },
  'HEAD /api/health': { request: () => ({ path: '/api/health' }) },
  'OPTIONS /api/health': { request: () => ({ path: '/api/health' }) },
  'GET /api/auth/[...nextauth]': { request: () => ({ path: '/api/auth/session' }), data: (b) => expect(typeof b).toBe('object') },
  'HEAD /api/auth/[...nextauth]': { request: () => ({ path: '/api/auth/session' }) },
  // A credentials sign-in without next-auth's CSRF token: next-auth turns it away itself, for everyone alike.
  'POST /api/auth/[...nextauth]': {
    request: () => ({
      path: '/api/auth/callback/credentials',
      body: new URLSearchParams({ username: 'matrix-nobody', password: 'not-the-password', json: 'true' }).toString(),
      contentType: 'application/x-www-form-urlencoded',
    }),
    data: (b) => expect(JSON.stringify(b)).toContain('csrf=true'),
  },
  'OPTIONS /api/auth/[...nextauth]': { request: () => ({ path: '/api/auth/session' }) },
  'GET /api/me': {
    request: () => ({ path: '/api/me' }),
    data: (b, p) => expect(b).toMatchObject({ role: p, username: p === 'otp' ? 'otp' : USERNAME[p as Exclude<Role, 'otp'>] }),
  },
  'HEAD /api/me': { request: () => ({ path: '/api/me' }) },
  'OPTIONS /api/me': { request: () => ({ path: '/api/me' }) },
  'GET /api/audit': { request: () => ({ path: '/api/audit' }), data: (b) => expect(Array.isArray((b as { entries: unknown }).entries)).toBe(true) },
  'HEAD /api/audit': { request: () => ({ path: '/api/audit' }) },
  'OPTIONS /api/audit': { request: () => ({ path: '/api/audit' }) },
  'GET /api/audit/export': { request: () => ({ path: '/api/audit/export' }), data: (b) => expect(String(b)).toMatch(/^Time \(UTC\),Who,From,What,Outcome,Reason,Action,Target\r\n/) },
  'HEAD /api/audit/export': { request: () => ({ path: '/api/audit/export' }) },
  'OPTIONS /api/audit/export': { request: () => ({ path: '/api/audit/export' }) },
  'GET /api/backup/settings': {
    request: () => ({ path: '/api/backup/settings' }),
    data: (b) => expect(typeof (b as { filenamePrefix: unknown }).filenamePrefix).toBe('string'),
  },
  'HEAD /api/backup/settings': { request: () => ({ path: '/api/backup/settings' }) },
  'PUT /api/backup/settings': {
    prepare: async () => ({ before: await prefixNow(), value: unique('api-') }),
    request: (ctx) => ({ path: '/api/backup/settings', body: JSON.stringify({ filenamePrefix: ctx.value }), contentType: 'application/json' }),
    effect: async (ctx) => {
      const now = await prefixNow();
      if (now !== ctx.value) expect(now).toBe(ctx.before);
      return now === ctx.value;
    },
  },
  'OPTIONS /api/backup/settings': { request: () => ({ path: '/api/backup/settings' }) },
  'GET /api/backup/status': {
    request: () => ({ path: '/api/backup/status' }),
    data: (b) => {
      expect(['NOT RUNNING', 'BACKUP IN PROGRESS']).toContain((b as { current: unknown }).current);
      expect(typeof (b as { canBackup: unknown }).canBackup).toBe('boolean');
    },
  },
  'HEAD /api/backup/status': { request: () => ({ path: '/api/backup/status' }) },
  'OPTIONS /api/backup/status': { request: () => ({ path: '/api/backup/status' }) },
  // Whether it is set, and nothing else.
  'GET /api/backup/dms': { request: () => ({ path: '/api/backup/dms' }), data: (b) => expect(b).toEqual({ set: expect.any(Boolean) }) },
  'HEAD /api/backup/dms': { request: () => ({ path: '/api/backup/dms' }) },
  'PUT /api/backup/dms': {
    writeOnce: true,
    request: (ctx) => ({ path: '/api/backup/dms', ...json({ dms: ctx.dms, dmsRepeat: ctx.dms }) }),
  },
  'OPTIONS /api/backup/dms': { request: () => ({ path: '/api/backup/dms' }) },
  'GET /api/backup/storage': {
    request: () => ({ path: '/api/backup/storage' }),
    data: (b) => {
      expect(['none', 'local']).toContain((b as { config: { type: unknown } }).config.type);
      expect(typeof (b as { label: unknown }).label).toBe('string');
    },
  },
  'HEAD /api/backup/storage': { request: () => ({ path: '/api/backup/storage' }) },
  'PUT /api/backup/storage': {
    ...storageProbe,
    request: (ctx) => ({ path: '/api/backup/storage', ...json(ctx.value) }),
    data: (b, _p, ctx) => expect((b as { config: unknown }).config).toEqual(ctx.value),
  },
  'OPTIONS /api/backup/storage': { request: () => ({ path: '/api/backup/storage' }) },
  'GET /api/backup/schedule': {
    request: () => ({ path: '/api/backup/schedule' }),
    data: (b) => {
      expect(typeof (b as ScheduleView).schedule.cron).toBe('string');
      expect(Array.isArray((b as { nextRuns: unknown }).nextRuns)).toBe(true);
    },
  },
  'HEAD /api/backup/schedule': { request: () => ({ path: '/api/backup/schedule' }) },
  'PUT /api/backup/schedule': {
    ...scheduleProbe,
    request: (ctx) => {
      const v = ctx.value as ScheduleView;
      return { path: '/api/backup/schedule', ...json({ ...v.schedule, retention: v.retention }) };
    },
    data: (b, _p, ctx) => expect(b).toMatchObject(ctx.value as ScheduleView),
  },
  'OPTIONS /api/backup/schedule': { request: () => ({ path: '/api/backup/schedule' }) },
  'GET /api/backup/verify-schedule': {
    request: () => ({ path: '/api/backup/verify-schedule' }),
    data: (b) => expect((b as { schedule: VerifySchedule }).schedule).toEqual({ enabled: expect.any(Boolean), everyDays: expect.any(Number) }),
  },
  'HEAD /api/backup/verify-schedule': { request: () => ({ path: '/api/backup/verify-schedule' }) },
  'PUT /api/backup/verify-schedule': {
    ...verifyScheduleProbe,
    request: (ctx) => ({ path: '/api/backup/verify-schedule', ...json(ctx.value) }),
    data: (b, _p, ctx) => expect((b as { schedule: unknown }).schedule).toEqual(ctx.value),
  },
  'OPTIONS /api/backup/verify-schedule': { request: () => ({ path: '/api/backup/verify-schedule' }) },
  'GET /api/verifications': {
    prepare: async () => ({ run: await runOnCurrentStorage() }),
    request: (ctx) => ({ path: `/api/verifications?runId=${(ctx.run as RunView).id}` }),
    data: (b) => {
      expect(Array.isArray((b as { history: unknown }).history)).toBe(true);
      expect(b).toHaveProperty('latest');
      expect(b).toHaveProperty('verdict');
    },
  },
  'HEAD /api/verifications': { request: () => ({ path: '/api/verifications' }) },
  // Verify (quick) a backup of the history: 202 and a verification that ends before the next attempt.
  'POST /api/verifications': {
    prepare: async () => {
      const run = await runOnCurrentStorage();
      await waitVerifyIdle();
      return { run, before: await latestVerificationId() };
    },
    okStatus: 202,
    request: (ctx) => ({ path: '/api/verifications', ...json({ level: 'quick', runId: (ctx.run as RunView).id }) }),
    effect: verificationStarted,
    data: (b, p, ctx) => {
      const v = (b as { verification: VerificationView }).verification;
      expect(v).toMatchObject({ status: 'running', level: 'quick', requestedBy: usernameOf(p as Role), backupRunId: (ctx.run as RunView).id });
      expect(v.id).toBeGreaterThan(ctx.before as number);
    },
  },
  'OPTIONS /api/verifications': { request: () => ({ path: '/api/verifications' }) },
  'GET /api/verifications/[id]': {
    prepare: async () => ({ id: await someVerificationId() }),
    request: (ctx) => ({ path: `/api/verifications/${ctx.id}` }),
    data: (b, _p, ctx) => expect((b as { verification: VerificationView }).verification.id).toBe(ctx.id),
  },
  'HEAD /api/verifications/[id]': { prepare: async () => ({ id: await someVerificationId() }), request: (ctx) => ({ path: `/api/verifications/${ctx.id}` }) },
  'OPTIONS /api/verifications/[id]': { request: () => ({ path: '/api/verifications/1' }) },
  'GET /api/backups': {
    request: () => ({ path: '/api/backups' }),
    data: (b) => {
      const runs = (b as { runs: Record<string, unknown>[] }).runs;
      expect(Array.isArray(runs)).toBe(true);
      for (const r of runs) expect(r).not.toHaveProperty('tempName');
    },
  },
  'HEAD /api/backups': { request: () => ({ path: '/api/backups' }) },
  // Backup now: 202 and a run that ends before the next attempt.
  'POST /api/backups': {
    ...backupStartProbe,
    okStatus: 202,
    request: () => ({ path: '/api/backups' }),
    data: (b, p, ctx) => {
      const run = (b as { run: RunView }).run;
      expect(run).toMatchObject({ trigger: 'manual', status: 'running', requestedBy: usernameOf(p as Role) });
      expect(run.id).toBeGreaterThan(ctx.before as number);
      expect(run).not.toHaveProperty('tempName');
    },
  },
  'OPTIONS /api/backups': { request: () => ({ path: '/api/backups' }) },
  'GET /api/backups/[id]': {
    prepare: async () => ({ id: await someRunId() }),
    request: (ctx) => ({ path: `/api/backups/${ctx.id}` }),
    data: (b, _p, ctx) => {
      expect((b as { run: RunView }).run.id).toBe(ctx.id);
      expect((b as { run: RunView }).run).not.toHaveProperty('tempName');
    },
  },
  'HEAD /api/backups/[id]': { prepare: async () => ({ id: await someRunId() }), request: (ctx) => ({ path: `/api/backups/${ctx.id}` }) },
  'OPTIONS /api/backups/[id]': { request: () => ({ path: '/api/backups/1' }) },
  'GET /api/backups/[id]/details': {
    prepare: async () => ({ run: await runOnCurrentStorage() }),
    request: (ctx) => ({ path: `/api/backups/${(ctx.run as RunView).id}/details` }),
    data: (b, _p, ctx) => expect((b as { details: unknown }).details).toMatchObject({ fileName: (ctx.run as RunView).fileName, dms: 'this', signature: 'verified' }),
  },
  'HEAD /api/backups/[id]/details': {
    prepare: async () => ({ run: await runOnCurrentStorage() }),
    request: (ctx) => ({ path: `/api/backups/${(ctx.run as RunView).id}/details` }),
  },
  'OPTIONS /api/backups/[id]/details': { request: () => ({ path: '/api/backups/1/details' }) },
  'GET /api/storage/browse': {
    request: () => ({ path: `/api/storage/browse?${new URLSearchParams({ url: `file://${aFolderToBrowse()}` })}` }),
    data: (b) => expect(b).toMatchObject({ total: 1, entries: [{ name: 'note.txt', type: 'file' }] }),
  },
  'HEAD /api/storage/browse': { request: () => ({ path: `/api/storage/browse?${new URLSearchParams({ url: `file://${aFolderToBrowse()}` })}` }) },
  'OPTIONS /api/storage/browse': { request: () => ({ path: '/api/storage/browse' }) },
  'GET /api/storage/details': {
    prepare: async () => ({ run: await runOnCurrentStorage() }),
    request: (ctx) => {
      const run = ctx.run as RunView & { dir: string };
      return { path: `/api/storage/details?${new URLSearchParams({ url: `file://${run.dir}/${run.fileName}` })}` };
    },
    data: (b, _p, ctx) => expect((b as { details: unknown }).details).toMatchObject({ fileName: (ctx.run as RunView).fileName, dms: 'this' }),
  },
  'HEAD /api/storage/details': {
    prepare: async () => ({ run: await runOnCurrentStorage() }),
    request: (ctx) => {
      const run = ctx.run as RunView & { dir: string };
      return { path: `/api/storage/details?${new URLSearchParams({ url: `file://${run.dir}/${run.fileName}` })}` };
    },
  },
  'OPTIONS /api/storage/details': { request: () => ({ path: '/api/storage/details' }) },
  'GET /api/storage/usb': {
    request: () => ({ path: '/api/storage/usb' }),
    data: (b) => expect(b).toMatchObject({ drives: expect.any(Array), hidden: expect.any(Array) }),
  },
  'HEAD /api/storage/usb': { request: () => ({ path: '/api/storage/usb' }) },
  'OPTIONS /api/storage/usb': { request: () => ({ path: '/api/storage/usb' }) },
  // No such drive is mounted: an allowed principal hears that it can be pulled out; nothing is unmounted.
  'POST /api/storage/usb/[uuid]/eject': {
    request: () => ({ path: '/api/storage/usb/00000000-0000-0000-0000-000000000000/eject', ...json({}) }),
    data: (b) => expect(b).toMatchObject({ unmounted: false }),
  },
  'OPTIONS /api/storage/usb/[uuid]/eject': { request: () => ({ path: '/api/storage/usb/00000000-0000-0000-0000-000000000000/eject' }) },
  'GET /api/users': {
    request: () => ({ path: '/api/users' }),
    data: (b) => {
      const users = (b as { users: Record<string, unknown>[] }).users;
      expect(users.some((u) => u.username === USERNAME.admin)).toBe(true);
      for (const u of users) expect(u).not.toHaveProperty('passwordHash');
    },
  },
  'HEAD /api/users': { request: () => ({ path: '/api/users' }) },
  'POST /api/users': {
    prepare: async () => ({ username: unique('api') }),
    request: (ctx) => ({ path: '/api/users', body: JSON.stringify(newUserInput(String(ctx.username))), contentType: 'application/json' }),
    effect: (ctx) => userExists(String(ctx.username)),
  },
  'OPTIONS /api/users': { request: () => ({ path: '/api/users' }) },
  'DELETE /api/users/[id]': {
    prepare: async () => ({ victim: await createVictim() }),
    request: (ctx) => ({ path: `/api/users/${(ctx.victim as ListedUser).id}` }),
    effect: async (ctx) => !(await userExists((ctx.victim as ListedUser).username)),
  },
  'OPTIONS /api/users/[id]': { request: () => ({ path: '/api/users/1' }) },
  'PATCH /api/users/[id]': {
    prepare: async () => ({ victim: await createVictim() }),
    request: (ctx) => ({ path: `/api/users/${(ctx.victim as ListedUser).id}`, ...json({ role: 'operator' }) }),
    effect: async (ctx) => (await listUsers()).find((u) => u.id === (ctx.victim as ListedUser).id)?.role === 'operator',
  },
  // A body that fails its schema: an allowed principal reaches the handler and hears why; no password changes.
  'POST /api/me/password': {
    request: () => ({ path: '/api/me/password', ...json({ currentPassword: PASSWORD, password: 'short', confirmPassword: 'short' }) }),
    allowedAnswer: { status: 422, code: 'unprocessable', message: /^The request has invalid fields\.$/ },
  },
  'OPTIONS /api/me/password': { request: () => ({ path: '/api/me/password' }) },
  'GET /api/tokens': {
    request: () => ({ path: '/api/tokens' }),
    data: (b) => {
      const tokens = (b as { tokens: Record<string, unknown>[] }).tokens;
      expect(Array.isArray(tokens)).toBe(true);
      for (const t of tokens) {
        expect(t).not.toHaveProperty('token');
        expect(t).not.toHaveProperty('tokenHash');
      }
    },
  },
  'HEAD /api/tokens': { request: () => ({ path: '/api/tokens' }) },
  'POST /api/tokens': {
    prepare: async () => ({ name: unique('api') }),
    request: (ctx) => ({ path: '/api/tokens', ...json({ name: String(ctx.name), role: 'support' }) }),
    effect: (ctx) => tokenIssued(String(ctx.name)),
  },
  'OPTIONS /api/tokens': { request: () => ({ path: '/api/tokens' }) },
  'DELETE /api/tokens/[id]': {
    prepare: async () => ({ victim: await victimToken() }),
    request: (ctx) => ({ path: `/api/tokens/${(ctx.victim as ListedToken).id}` }),
    effect: (ctx) => tokenRevoked((ctx.victim as ListedToken).id),
  },
  'OPTIONS /api/tokens/[id]': { request: () => ({ path: '/api/tokens/1' }) },
  'GET /api/restore': {
    request: () => ({ path: '/api/restore' }),
    data: (b) => {
      expect(b).toHaveProperty('current');
      expect(Array.isArray((b as { recent: unknown }).recent)).toBe(true);
    },
  },
  'HEAD /api/restore': { request: () => ({ path: '/api/restore' }) },
  // A real restore would replace this console's accounts under the test: the allowed answer is the confirmation's refusal, past the role check.
  'POST /api/restore': {
    prepare: async () => ({ run: await runOnCurrentStorage() }),
    request: (ctx) => ({ path: '/api/restore', ...json({ source: { kind: 'storage', fileName: (ctx.run as RunView).fileName }, confirm: 'not-this-appliance' }) }),
    allowedAnswer: { status: 422, code: 'unprocessable', message: /^Check the highlighted fields\.$|Type the appliance name/ },
  },
  'OPTIONS /api/restore': { request: () => ({ path: '/api/restore' }) },
  'POST /api/restore/plan': {
    prepare: async () => ({ run: await runOnCurrentStorage() }),
    request: (ctx) => ({ path: '/api/restore/plan', ...json({ source: { kind: 'storage', fileName: (ctx.run as RunView).fileName } }) }),
    data: (b, _p, ctx) => expect((b as { plan: { file: { name: string } } }).plan.file.name).toBe((ctx.run as RunView).fileName),
  },
  'OPTIONS /api/restore/plan': { request: () => ({ path: '/api/restore/plan' }) },
  'POST /api/restore/upload': {
    okStatus: 201,
    request: () => ({ path: '/api/restore/upload', body: 'age-encryption.org/v1\n-> scrypt matrix\n', contentType: 'application/octet-stream' }),
    data: (b) => expect((b as { file: { id: string } }).file.id).toMatch(/^upload-[0-9a-f]+\.part$/),
  },
  'OPTIONS /api/restore/upload': { request: () => ({ path: '/api/restore/upload' }) },
  'DELETE /api/restore/incoming/[id]': {
    prepare: async () => {
      const up = await admin().fetch('/api/restore/upload', { method: 'POST', headers: { origin: server.url, 'content-type': 'application/octet-stream' }, body: 'age-encryption.org/v1\n' });
      return { id: ((await up.json()) as { file: { id: string } }).file.id };
    },
    request: (ctx) => ({ path: `/api/restore/incoming/${ctx.id}` }),
    effect: async (ctx) => !fs.existsSync(path.join(server.dataDir, 'restore', 'incoming', String(ctx.id))),
  },
  'OPTIONS /api/restore/incoming/[id]': { request: () => ({ path: '/api/restore/incoming/upload-00000000.part' }) },
  'POST /api/restore/remote/probe': {
    request: () => ({ path: '/api/restore/remote/probe', ...json({ host: '127.0.0.1', port: 1 }) }),
    allowedAnswer: { status: 422, code: 'unprocessable', message: /refused/i },
  },
  'OPTIONS /api/restore/remote/probe': { request: () => ({ path: '/api/restore/remote/probe' }) },
  'POST /api/restore/remote/pin': {
    prepare: async () => ({ port: 20_000 + Math.floor(Math.random() * 20_000) }),
    request: (ctx) => ({ path: '/api/restore/remote/pin', ...json({ host: 'matrix.example.test', port: ctx.port, keyType: 'ssh-ed25519', fingerprint: 'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU' }) }),
    data: (b, _p, ctx) => expect((b as { pinned: { port: number } }).pinned.port).toBe(ctx.port),
  },
  'OPTIONS /api/restore/remote/pin': { request: () => ({ path: '/api/restore/remote/pin' }) },
  'POST /api/restore/remote/fetch': {
    request: () => ({ path: '/api/restore/remote/fetch', ...json({ host: '127.0.0.1', port: 1, user: 'backup', path: '/srv/x.tar.age', password: 'matrix' }) }),
    allowedAnswer: { status: 422, code: 'unprocessable', message: /refused|host key/i },
  },
  'OPTIONS /api/restore/remote/fetch': { request: () => ({ path: '/api/restore/remote/fetch' }) },
  'GET /api/alerts/channels': {
    request: () => ({ path: '/api/alerts/channels' }),
    data: (b) => {
      expect(Array.isArray((b as { channels: unknown }).channels)).toBe(true);
      expect(JSON.stringify(b)).not.toMatch(/matrix-webhook-secret|secretSealed/);
    },
  },
  'HEAD /api/alerts/channels': { request: () => ({ path: '/api/alerts/channels' }) },
  'POST /api/alerts/channels': {
    request: () => ({ path: '/api/alerts/channels', ...json({ kind: 'webhook', name: '', secret: 'matrix-webhook-secret-0123', config: { url: 'http://127.0.0.1:9/hook' } }) }),
    // Every field's problem at once, as every route answers them (fields checked in tests/alerts/channels.test.ts).
    allowedAnswer: { status: 422, code: 'unprocessable', message: /^The request has invalid fields\.$/ },
  },
  'OPTIONS /api/alerts/channels': { request: () => ({ path: '/api/alerts/channels' }) },
  'PUT /api/alerts/channels/[id]': {
    prepare: async () => ({ victim: await victimChannel(), name: unique('renamed') }),
    // No secret in the body: the stored one is kept.
    request: (ctx) => ({ path: `/api/alerts/channels/${(ctx.victim as ListedChannel).id}`, ...json({ kind: 'webhook', name: String(ctx.name), config: { url: 'http://127.0.0.1:9/renamed' } }) }),
    data: (b, _p, ctx) => {
      expect((b as { channel: { name: string; secretSet: boolean } }).channel).toMatchObject({ name: ctx.name, secretSet: true });
      expect(JSON.stringify(b)).not.toMatch(/matrix-webhook-secret|secretSealed/);
    },
    effect: async (ctx) => (await channelById((ctx.victim as ListedChannel).id))?.name === ctx.name,
  },
  'DELETE /api/alerts/channels/[id]': {
    prepare: async () => ({ victim: await victimChannel() }),
    request: (ctx) => ({ path: `/api/alerts/channels/${(ctx.victim as ListedChannel).id}` }),
    effect: async (ctx) => !(await channelById((ctx.victim as ListedChannel).id)),
  },
  'OPTIONS /api/alerts/channels/[id]': { request: () => ({ path: '/api/alerts/channels/999999' }) },
  'POST /api/alerts/channels/[id]/test': {
    prepare: async () => ({ victim: await victimChannel() }),
    request: (ctx) => ({ path: `/api/alerts/channels/${(ctx.victim as ListedChannel).id}/test` }),
    data: (b) => expect(b).toEqual({ delivered: false, message: 'Could not connect to 127.0.0.1:9: connection refused.' }),
    effect: async (ctx) => Boolean((await channelById((ctx.victim as ListedChannel).id))?.lastFailedAt),
  },
  'OPTIONS /api/alerts/channels/[id]/test': { request: () => ({ path: '/api/alerts/channels/999999/test' }) },
};

function expectApi(rule: RouteRule, p: Principal, okStatus = 200): { status: number; code?: string; message?: string } {
  if (typeof rule === 'object' && 'public' in rule) return { status: rule.public };
  if (rule === 'options') return p === 'anonymous' ? { status: 401 } : { status: 204 };
  if (!isRole(p)) return { status: 401, code: 'unauthorized', message: 'Sign in to continue.' };
  if (rule.allow.includes(p)) return { status: okStatus };
  return { status: 403, code: 'forbidden', message: refusal(p, rule) };
}

const isAllowed = (rule: RouteRule, p: Principal) => typeof rule === 'object' && 'allow' in rule && isRole(p) && rule.allow.includes(p);

/** One request of a route handler row, as principal p with variant v. */
async function apiAttempt(method: Method, probe: Probe, ctx: Record<string, unknown>, p: Principal, v: Variant) {
  const req = probe.request(ctx);
  const headers: Record<string, string> = { ...v.headers };
  // Same-origin, so the CSRF check passes and the role check is what is tested.
  if (method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS') headers.origin = server.url;
  if (req.contentType) headers['content-type'] = req.contentType;
  const res = await clientFor(p).fetch(req.path, { method, headers, body: req.body as string | undefined });
  requests++;
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  const error = (body as { error?: { code?: string; message?: string } } | null)?.error;
  const seen: ApiSeen = { status: res.status, code: error?.code ?? null, message: error?.message ?? null };
  return { seen, body, error };
}

/** The table's answer for p: status, and for a refusal its code and exact words. */
function checkApi(where: string, method: Method, want: ReturnType<typeof expectApi>, got: Awaited<ReturnType<typeof apiAttempt>>) {
  expect(got.seen.status, where).toBe(want.status);
  if (want.code && method !== 'HEAD') expect({ code: got.seen.code, message: got.seen.message }, where).toEqual({ code: want.code, message: want.message });
}

describe('route handlers', () => {
  it('every table method has a probe', () => {
    const keys = Object.entries(ROUTES).flatMap(([pattern, methods]) => Object.keys(methods).map((m) => `${m} ${pattern}`));
    expect(Object.keys(PROBES).sort()).toEqual(keys.sort());
  });

  for (const [pattern, methods] of Object.entries(ROUTES)) {
    for (const [method, rule] of Object.entries(methods) as [Method, RouteRule][]) {
      const key = `${method} ${pattern}`;
      if (PROBES[key]?.writeOnce) continue; // walked in "the Domain Master Secret" below
      it(key, async () => {
        const probe = PROBES[key]!;
        await walk(key, async (p, v, where) => {
          const allowed = isAllowed(rule, p);
          const want = expectApi(rule, p, allowed && probe.allowedAnswer ? probe.allowedAnswer.status : probe.okStatus);
          const ctx = probe.prepare ? await probe.prepare() : {};
          const got = await apiAttempt(method, probe, ctx, p, v);
          checkApi(where, method, want, got);
          const answered = allowed || (typeof rule === 'object' && 'public' in rule && want.status === 200);
          if (allowed && probe.allowedAnswer) {
            // HEAD: the status alone (no body).
            if (method !== 'HEAD') expect(got.seen.code, where).toBe(probe.allowedAnswer.code);
            if (method !== 'HEAD') expect(got.seen.message ?? '', where).toMatch(probe.allowedAnswer.message);
          } else if (answered && method !== 'HEAD') {
            expect(got.error, where).toBeUndefined();
            probe.data?.(got.body, p, ctx);
          }
          if (probe.effect) expect(await probe.effect(ctx, p), `${where}: took effect`).toBe(allowed);
          return got.seen;
        });
      });
    }
  }
});

// ---------------------------------------------------------------------------
// Server actions
// ---------------------------------------------------------------------------

type ActionProbe = {
  prepare?: (p: Principal) => Promise<Record<string, unknown>>;
  /** For an allowed principal the action itself refuses (past the role check), the refusal it gives; it then takes no effect. */
  refusedPastRole?: (p: Principal) => { code: string; message: string } | undefined;
  fields: (ctx: Record<string, unknown>) => Record<string, string>;
  effect: (ctx: Record<string, unknown>, p: Principal) => Promise<boolean>;
  /** For allowed principals: the state says what it should. */
  ok?: (state: ActionState, ctx: Record<string, unknown>) => void;
  /** Write-once (the DMS): walked in its own order, see "the Domain Master Secret" below. */
  writeOnce?: true;
};

const oidcIssuerShown = async (issuer: string) => {
  const res = await admin().fetch('/settings/sign-in');
  return (await res.text()).includes(issuer);
};

/** The passwords the own-password probe has set, by principal (PASSWORD until then). */
const ownPasswords = new Map<Principal, string>();

const ACTION_PROBES: Record<string, ActionProbe> = {
  'app/(console)/backup/actions.ts#saveBackupSettingsAction': {
    prepare: async () => ({ before: await prefixNow(), value: unique('act-') }),
    fields: (ctx) => ({ filenamePrefix: String(ctx.value) }),
    effect: async (ctx) => {
      const now = await prefixNow();
      if (now !== ctx.value) expect(now).toBe(ctx.before);
      return now === ctx.value;
    },
  },
  'app/(console)/settings/sign-in/actions.ts#saveOidcAction': {
    // Not enabled, so the sign-in page keeps offering passwords only.
    prepare: async () => ({ issuer: `https://${unique('idp')}.example.test/realms/main` }),
    fields: (ctx) => ({
      displayName: 'Matrix SSO',
      issuer: String(ctx.issuer),
      clientId: 'webconf',
      clientSecret: 'matrix-client-secret',
      roleClaim: 'groups',
      adminValues: 'admins',
      operatorValues: '',
      supportValues: '',
    }),
    effect: (ctx) => oidcIssuerShown(String(ctx.issuer)),
  },
  'app/(console)/users/actions.ts#createUserAction': {
    prepare: async () => ({ username: unique('act') }),
    fields: (ctx) => newUserInput(String(ctx.username)),
    effect: (ctx) => userExists(String(ctx.username)),
  },
  'app/(console)/users/actions.ts#deleteUserAction': {
    prepare: async () => ({ victim: await createVictim() }),
    fields: (ctx) => ({ id: String((ctx.victim as ListedUser).id) }),
    effect: async (ctx) => !(await userExists((ctx.victim as ListedUser).username)),
  },
  'app/(console)/settings/tokens/actions.ts#issueTokenAction': {
    prepare: async () => ({ name: unique('act') }),
    fields: (ctx) => ({ name: String(ctx.name), role: 'support' }),
    effect: (ctx) => tokenIssued(String(ctx.name)),
  },
  'app/(console)/settings/tokens/actions.ts#revokeTokenAction': {
    prepare: async () => ({ victim: await victimToken() }),
    fields: (ctx) => ({ id: String((ctx.victim as ListedToken).id) }),
    effect: (ctx) => tokenRevoked((ctx.victim as ListedToken).id),
  },
  'app/(console)/users/actions.ts#changeRoleAction': {
    prepare: async () => ({ victim: await createVictim() }),
    fields: (ctx) => ({ id: String((ctx.victim as ListedUser).id), role: 'operator' }),
    effect: async (ctx) => (await listUsers()).find((u) => u.id === (ctx.victim as ListedUser).id)?.role === 'operator',
  },
  'app/(console)/users/actions.ts#resetPasswordAction': {
    prepare: async () => ({ victim: await createVictim(), password: `${unique('reset-')}-long-enough` }),
    fields: (ctx) => ({ id: String((ctx.victim as ListedUser).id), password: String(ctx.password), confirmPassword: String(ctx.password) }),
    effect: async (ctx) => {
      const row = sqlite.prepare('select password_hash from users where id = ?').get((ctx.victim as ListedUser).id) as { password_hash: string };
      return verifyPassword(String(ctx.password), row.password_hash);
    },
  },
  'app/(console)/users/actions.ts#setDisabledAction': {
    prepare: async () => ({ victim: await createVictim() }),
    fields: (ctx) => ({ id: String((ctx.victim as ListedUser).id), disabled: 'true' }),
    effect: async (ctx) => {
      const row = sqlite.prepare('select disabled_at from users where id = ?').get((ctx.victim as ListedUser).id) as { disabled_at: number | null };
      return row.disabled_at !== null;
    },
  },
  // Each principal changes its own password from the one it has now (kept here) to a new one; the OTP User is refused past the role check.
  'app/(console)/account/actions.ts#changeOwnPasswordAction': {
    prepare: async (p) => ({ user: isRole(p) ? usernameOf(p) : 'matrix-stale', current: ownPasswords.get(p) ?? PASSWORD, next: `${unique('own-')}-long-enough` }),
    fields: (ctx) => ({ currentPassword: String(ctx.current), password: String(ctx.next), confirmPassword: String(ctx.next) }),
    refusedPastRole: (p) =>
      p === 'otp' ? { code: 'failed', message: 'The OTP User has a one-time password: create an account and remove the OTP User instead.' } : undefined,
    effect: async (ctx, p) => {
      const row = sqlite.prepare('select password_hash from users where username = ?').get(String(ctx.user)) as { password_hash: string } | undefined;
      const changed = Boolean(row) && (await verifyPassword(String(ctx.next), row!.password_hash));
      if (changed) ownPasswords.set(p, String(ctx.next));
      return changed;
    },
  },
  'app/(console)/settings/alerts/actions.ts#saveChannelAction': {
    prepare: async () => ({ name: unique('act') }),
    fields: (ctx) => ({ kind: 'webhook', name: String(ctx.name), url: 'http://127.0.0.1:9/hook', secret: 'matrix-webhook-secret-0123' }),
    effect: async (ctx) => Boolean(await channelNamed(String(ctx.name))),
  },
  'app/(console)/settings/alerts/actions.ts#testChannelAction': {
    prepare: async () => ({ victim: await victimChannel() }),
    fields: (ctx) => ({ id: String((ctx.victim as ListedChannel).id) }),
    ok: (state) => expect(state).toMatchObject({ ok: true, code: 'failed', message: 'Could not connect to 127.0.0.1:9: connection refused.' }),
    effect: async (ctx) => Boolean((await channelById((ctx.victim as ListedChannel).id))?.lastFailedAt),
  },
  'app/(console)/settings/alerts/actions.ts#enableChannelAction': {
    prepare: async () => ({ victim: await victimChannel() }),
    fields: (ctx) => ({ id: String((ctx.victim as ListedChannel).id), enabled: 'false' }),
    effect: async (ctx) => (await channelById((ctx.victim as ListedChannel).id))?.enabled === false,
  },
  'app/(console)/settings/alerts/actions.ts#removeChannelAction': {
    prepare: async () => ({ victim: await victimChannel() }),
    fields: (ctx) => ({ id: String((ctx.victim as ListedChannel).id) }),
    effect: async (ctx) => !(await channelById((ctx.victim as ListedChannel).id)),
  },
  'app/(console)/settings/alerts/actions.ts#saveReminderAction': {
    // A value other than the stored one: a random pick equal to it would look like an effect of a refused call.
    prepare: async () => {
      const stored = (await alertsState()).reminderHours;
      let hours: number;
      do hours = 1 + Math.floor(Math.random() * 700);
      while (hours === stored);
      return { hours };
    },
    fields: (ctx) => ({ hours: String(ctx.hours) }),
    effect: async (ctx) => (await alertsState()).reminderHours === ctx.hours,
  },
  'app/(console)/users/actions.ts#removeOtpUserAction': {
    prepare: async () => {
      await ensureOtp();
      return {};
    },
    fields: () => ({}),
    effect: async () => !(await listUsers()).some((u) => u.kind === 'otp'),
  },
  'app/(console)/backup/actions.ts#setDmsAction': {
    writeOnce: true,
    fields: (ctx) => ({ dms: String(ctx.dms), dmsRepeat: String(ctx.dms) }),
    effect: dmsIsSet,
  },
  'app/(console)/backup/actions.ts#saveScheduleAction': {
    ...scheduleProbe,
    fields: (ctx) => {
      const v = ctx.value as ScheduleView;
      // "enabled" left out: the checkbox unticked.
      return { preset: 'custom', cron: v.schedule.cron, timezone: v.schedule.timezone, retention: String(v.retention) };
    },
  },
  'app/(console)/backup/actions.ts#saveVerifyScheduleAction': {
    ...verifyScheduleProbe,
    // "verifyEnabled" left out: the checkbox unticked.
    fields: (ctx) => ({ everyDays: String((ctx.value as VerifySchedule).everyDays) }),
  },
  'app/(console)/backup/actions.ts#saveStorageAction': {
    ...storageProbe,
    fields: (ctx) => ({ type: 'local', location: (ctx.value as { path: string }).path }),
  },
  'app/(console)/backup/actions.ts#backupNowAction': {
    ...backupStartProbe,
    fields: () => ({}),
    ok: (state, ctx) => {
      const m = /^Backup #(\d+) started\.$/.exec(state.message ?? '');
      expect(m, `"${state.message}" names the run`).not.toBeNull();
      expect(Number(m![1])).toBeGreaterThan(ctx.before as number);
    },
  },
};

type ActionSeen = { status: number; location: string | null; ok: boolean | null; code: string | null; message: string | null };

/** One call of a server action row, as principal p with variant v. */
async function actionAttempt(key: string, fields: Record<string, string>, p: Principal, v: Variant) {
  const found = built.actions.get(key);
  expect(found, `${key} is in the build`).toBeDefined();
  const r = await callAction(clientFor(p), found!.id, found!.pages[0]!, fields, v.headers);
  const state = r.state && r.state !== 'error' ? r.state : null;
  const seen: ActionSeen = {
    status: r.status,
    location: r.location,
    ok: state?.ok ?? null,
    code: state?.code ?? null,
    message: state && !state.ok ? (state.message ?? null) : null,
  };
  return { r, state, seen };
}

/** The table's answer for p: sign-in, session ended, done, or the refusal in exact words. */
function checkAction(where: string, rule: Rule, p: Principal, got: Awaited<ReturnType<typeof actionAttempt>>) {
  const { r, state } = got;
  if (p === 'anonymous') {
    // The proxy sends it to sign-in; the action never runs.
    expect(r.status, where).toBe(307);
    expect(new URL(r.location ?? '', server.url).pathname, where).toBe('/login');
    return;
  }
  expect(r.status, where).toBe(200);
  expect(state, `${where}: an ActionState in the RSC answer`).not.toBeNull();
  if (p === 'stale') expect(state, where).toMatchObject({ ok: false, code: 'unauthorized', message: 'Your session has ended. Sign in again.' });
  else if (rule.allow.includes(p)) expect(state, where).toMatchObject({ ok: true });
  else expect(state, where).toMatchObject({ ok: false, code: 'forbidden', message: refusal(p, rule) });
}

const actionPage = (key: string) => built.actions.get(key)?.pages[0] ?? '?';

describe('server actions', () => {
  it('every table action has a probe', () => {
    expect(Object.keys(ACTION_PROBES).sort()).toEqual(Object.keys(ACTIONS).sort());
  });

  for (const [key, rule] of Object.entries(ACTIONS)) {
    if (ACTION_PROBES[key]?.writeOnce) continue; // walked in "the Domain Master Secret" above
    it(key, async () => {
      const probe = ACTION_PROBES[key]!;
      await walk(`${key} via POST ${actionPage(key)}`, async (p, v, where) => {
        const ctx = probe.prepare ? await probe.prepare(p) : {};
        const got = await actionAttempt(key, probe.fields(ctx), p, v);
        const past = isRole(p) && rule.allow.includes(p) ? probe.refusedPastRole?.(p) : undefined;
        if (past) expect(got.state, where).toMatchObject({ ok: false, ...past });
        else checkAction(where, rule, p, got);
        const allowed = isRole(p) && rule.allow.includes(p) && !past;
        if (allowed) probe.ok?.(got.state!, ctx);
        expect(await probe.effect(ctx, p), `${where}: took effect`).toBe(allowed);
        return got.seen;
      });
    });
  }
});

// ---------------------------------------------------------------------------
// Cross-site requests and a JSON request without a cookie
// ---------------------------------------------------------------------------

describe('cross-site writes are refused even for admin', () => {
  const CROSS: { name: string; headers: Record<string, string> }[] = [
    { name: 'cross-site Origin', headers: { origin: 'https://evil.example' } },
    { name: 'no Origin', headers: {} },
    { name: 'Origin "null"', headers: { origin: 'null' } },
    { name: 'Sec-Fetch-Site: cross-site with our Origin', headers: { 'sec-fetch-site': 'cross-site', origin: 'ORIGIN' } },
  ];
  const withOrigin = (h: Record<string, string>) => (h.origin === 'ORIGIN' ? { ...h, origin: server.url } : h);

  it('PUT /api/backup/settings', async () => {
    for (const c of CROSS) {
      for (const v of VARIANTS) {
        const before = await prefixNow();
        const res = await admin().fetch('/api/backup/settings', {
          method: 'PUT',
          headers: { ...withOrigin(c.headers), ...v.headers, 'content-type': 'application/json' },
          body: JSON.stringify({ filenamePrefix: unique('x-') }),
        });
        requests++;
        expect(res.status, `${c.name} (${v.name})`).toBe(403);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('forbidden');
        expect(await prefixNow()).toBe(before);
      }
    }
  });

  it('POST /api/users', async () => {
    for (const c of CROSS) {
      for (const v of VARIANTS) {
        const username = unique('x');
        const res = await admin().fetch('/api/users', {
          method: 'POST',
          headers: { ...withOrigin(c.headers), ...v.headers, 'content-type': 'application/json' },
          body: JSON.stringify(newUserInput(username)),
        });
        requests++;
        expect(res.status, `${c.name} (${v.name})`).toBe(403);
        expect(await userExists(username)).toBe(false);
      }
    }
  });

  it('DELETE /api/users/[id]', async () => {
    const victim = await createVictim();
    for (const c of CROSS) {
      for (const v of VARIANTS) {
        const res = await admin().fetch(`/api/users/${victim.id}`, { method: 'DELETE', headers: { ...withOrigin(c.headers), ...v.headers } });
        requests++;
        expect(res.status, `${c.name} (${v.name})`).toBe(403);
        expect(await userExists(victim.username)).toBe(true);
      }
    }
  });

  it('PUT /api/backup/dms', async () => {
    await ensureBackupReady();
    const before = dmsDigest();
    for (const c of CROSS) {
      for (const v of VARIANTS) {
        const dms = dmsCandidate();
        const res = await admin().fetch('/api/backup/dms', {
          method: 'PUT',
          headers: { ...withOrigin(c.headers), ...v.headers, 'content-type': 'application/json' },
          body: JSON.stringify({ dms, dmsRepeat: dms }),
        });
        requests++;
        expect(res.status, `${c.name} (${v.name})`).toBe(403);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('forbidden');
        expect(dmsDigest() === before, `${c.name} (${v.name}): the stored DMS is unchanged`).toBe(true);
      }
    }
  });

  it('PUT /api/backup/storage', async () => {
    const dir = newStoreDir();
    for (const c of CROSS) {
      for (const v of VARIANTS) {
        const before = await storageNow();
        const res = await admin().fetch('/api/backup/storage', {
          method: 'PUT',
          headers: { ...withOrigin(c.headers), ...v.headers, 'content-type': 'application/json' },
          body: JSON.stringify({ type: 'local', path: dir }),
        });
        requests++;
        expect(res.status, `${c.name} (${v.name})`).toBe(403);
        expect(await storageNow()).toEqual(before);
      }
    }
  });

  it('PUT /api/backup/schedule', async () => {
    for (const c of CROSS) {
      for (const v of VARIANTS) {
        const before = await scheduleNow();
        const next = newSchedule();
        const res = await admin().fetch('/api/backup/schedule', {
          method: 'PUT',
          headers: { ...withOrigin(c.headers), ...v.headers, 'content-type': 'application/json' },
          body: JSON.stringify({ ...next.schedule, retention: next.retention }),
        });
        requests++;
        expect(res.status, `${c.name} (${v.name})`).toBe(403);
        expect(await scheduleNow()).toEqual(before);
      }
    }
  });

  it('POST /api/backups', async () => {
    await ensureBackupReady();
    const before = await latestRunId();
    for (const c of CROSS) {
      for (const v of VARIANTS) {
        const res = await admin().fetch('/api/backups', { method: 'POST', headers: { ...withOrigin(c.headers), ...v.headers } });
        requests++;
        expect(res.status, `${c.name} (${v.name})`).toBe(403);
      }
    }
    expect(await backupStarted({ before }, 'admin')).toBe(false);
  });

  it('PUT /api/backup/verify-schedule', async () => {
    for (const c of CROSS) {
      for (const v of VARIANTS) {
        const before = await verifyScheduleNow();
        const res = await admin().fetch('/api/backup/verify-schedule', {
          method: 'PUT',
          headers: { ...withOrigin(c.headers), ...v.headers, 'content-type': 'application/json' },
          body: JSON.stringify(newVerifySchedule()),
        });
        requests++;
        expect(res.status, `${c.name} (${v.name})`).toBe(403);
        expect(await verifyScheduleNow()).toEqual(before);
      }
    }
  });

  it('POST /api/verifications', async () => {
    const run = await runOnCurrentStorage();
    await waitVerifyIdle();
    const before = await latestVerificationId();
    for (const c of CROSS) {
      for (const v of VARIANTS) {
        const res = await admin().fetch('/api/verifications', {
          method: 'POST',
          headers: { ...withOrigin(c.headers), ...v.headers, 'content-type': 'application/json' },
          body: JSON.stringify({ level: 'quick', runId: run.id }),
        });
        requests++;
        expect(res.status, `${c.name} (${v.name})`).toBe(403);
      }
    }
    expect(await latestVerificationId()).toBe(before);
  });

  it('Backup now (server action) with a cross-site Origin does not run', async () => {
    await ensureBackupReady();
    const before = await latestRunId();
    const found = built.actions.get('app/(console)/backup/actions.ts#backupNowAction')!;
    for (const v of VARIANTS) {
      const r = await callAction(admin(), found.id, '/backup', {}, { ...v.headers, origin: 'https://evil.example' });
      expect(r.status, v.name).toBeGreaterThanOrEqual(400);
      expect(r.state === null || r.state === 'error' || r.state.ok !== true).toBe(true);
    }
    expect(await backupStarted({ before }, 'admin')).toBe(false);
  });

  it('a server action with a cross-site Origin does not run (Next refuses it)', async () => {
    const found = built.actions.get('app/(console)/backup/actions.ts#saveBackupSettingsAction')!;
    for (const v of VARIANTS) {
      const before = await prefixNow();
      const r = await callAction(admin(), found.id, '/backup', { filenamePrefix: unique('x-') }, { ...v.headers, origin: 'https://evil.example' });
      expect(r.status, v.name).toBeGreaterThanOrEqual(400);
      expect(r.state === null || r.state === 'error' || r.state.ok !== true).toBe(true);
      expect(await prefixNow()).toBe(before);
    }
  });

  it('a JSON GET without a cookie is 401', async () => {
    const paths = ['/api/me', '/api/users', '/api/backup/settings', '/api/audit'];
    paths.push('/api/backup/status', '/api/backup/dms', '/api/backup/storage', '/api/backup/schedule', '/api/backups', '/api/backups/1');
    paths.push('/api/backup/verify-schedule', '/api/verifications', '/api/verifications/1');
    for (const v of VARIANTS) {
      for (const pathname of paths) {
        const r = await new ConsoleClient(server.url).json<{ error: { code: string } }>(pathname, 'GET', undefined, { accept: 'application/json', ...v.headers });
        requests++;
        expect(r.status, `${pathname} (${v.name})`).toBe(401);
        expect(r.body.error.code).toBe('unauthorized');
      }
    }
  });
});

// ---------------------------------------------------------------------------
// The Domain Master Secret never shows: not in the console's output, the audit
// trail, the pages or the backup files (booleans only, never the secret).
// ---------------------------------------------------------------------------

describe('the Domain Master Secret never shows', () => {
  it('in the console output, the audit trail, the /backup page or the backup files', async () => {
    expect(dmsSecrets.length).toBeGreaterThan(0);
    const audit = await admin().fetch('/api/audit');
    const places: [string, string][] = [
      ['console output', server.output()],
      ['audit trail', await audit.text()],
      ['/backup as admin', await (await admin().fetch('/backup')).text()],
      ['GET /api/backup/dms', await (await admin().fetch('/api/backup/dms')).text()],
      ['GET /api/backups', await (await admin().fetch('/api/backups')).text()],
    ];
    for (const d of storeDirs) {
      for (const f of fs.readdirSync(d)) places.push([`backup file ${f}`, fs.readFileSync(path.join(d, f)).toString('latin1')]);
    }
    requests += 4;
    for (const [name, text] of places) {
      const leaked = dmsSecrets.some((secret) => text.includes(secret));
      expect(leaked, `a DMS in ${name}`).toBe(false);
    }
  });
});

// ---------------------------------------------------------------------------
// Every action the matrix made leaves an entry in words (issue 12): read the
// whole trail back through the API, page by page, and the CSV export.
// ---------------------------------------------------------------------------

describe('the audit trail tells every action in words', () => {
  type Entry = { id: number; action: string; outcome: string; sentence: string; reason: string; who: string };
  const readAll = async (query = '') => {
    const all: Entry[] = [];
    let before: number | null = null;
    do {
      const page: { entries: Entry[]; nextBefore: number | null } = await adminJson(`/api/audit?limit=500${query}${before ? `&before=${before}` : ''}`);
      all.push(...page.entries);
      before = page.nextBefore;
    } while (before !== null);
    return all;
  };

  it('each action code in the trail reads as a sentence, not the code', async () => {
    const all = await readAll();
    const codes = new Set(all.map((e) => e.action));
    // The matrix refused and ran requests of every kind: sign-ins, refusals by role, backups, DMS, storage, tokens, devices.
    expect(codes.size).toBeGreaterThan(20);
    for (const code of ['auth.sign-in', 'backup.dms.set', 'backup.start', 'page.view']) expect(codes, code).toContain(code);
    for (const e of all) {
      const where = `${e.action} ${e.outcome}: ${e.sentence}`;
      expect(e.sentence, where).not.toContain(e.action);
      expect(e.sentence, where).toMatch(/^\S+( \S+){2,}/);
      if (e.outcome !== 'success' && e.action !== 'auth.sign-in') expect(e.sentence.includes(': ') || e.reason === '', where).toBe(true);
    }
    // Background polls (the status panel's GET /api/backup/status) are not recorded, even when refused.
    expect(codes.has('api.backup.status')).toBe(false);
    const dms = all.find((e) => e.action === 'backup.dms.set' && e.outcome === 'success')!;
    expect(dms.sentence).toBe(`${USERNAME.admin} set the Domain Master Secret`);
    const refused = all.find((e) => e.action === 'page.view' && e.outcome === 'denied' && e.who === USERNAME.support)!;
    expect(refused.sentence).toMatch(new RegExp(`^${USERNAME.support} was refused the page /\\S+: their role may not `));
  });

  it('filters and pages on the server, and the export holds every matching row', async () => {
    const denied = await readAll('&outcome=denied');
    expect(denied.length).toBeGreaterThan(0);
    expect(denied.every((e) => e.outcome === 'denied')).toBe(true);
    const support = await readAll(`&user=${USERNAME.support}&action=page`);
    expect(support.length).toBeGreaterThan(0);
    expect(support.every((e) => e.who === USERNAME.support && e.action === 'page.view')).toBe(true);
    const first: { entries: Entry[]; nextBefore: number } = await adminJson('/api/audit?limit=3&outcome=denied');
    const second: { entries: Entry[] } = await adminJson(`/api/audit?limit=3&outcome=denied&before=${first.nextBefore}`);
    expect(second.entries[0]!.id).toBeLessThan(first.entries[2]!.id);
    const bad = await admin().json<{ error: { code: string; fields: Record<string, string[]> } }>('/api/audit?from=yesterday', 'GET');
    expect(bad.status).toBe(422);
    expect(Object.keys(bad.body.error.fields)).toContain('from');
    const csv = await (await admin().fetch('/api/audit/export?outcome=denied')).text();
    requests += 4;
    const lines = csv.trimEnd().split('\r\n');
    // One header, then one record per denied entry (a refused reason has no line break, so lines are records).
    expect(lines.length - 1).toBe((await readAll('&outcome=denied')).length);
  });
});
