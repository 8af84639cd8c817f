// Shared by the fault test files: the real server process, a PostgreSQL the test may stop
// and start, a small HTTP client with cookies and CSRF tokens, and direct SQL for checking
// the database behind the app's back. Not a test file itself (no .test.ts suffix).
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { type EmbeddedDatabase, startEmbeddedPostgres } from '../../src/db/embedded.js';
import { migrate } from '../../src/db/migrator.js';
import { createSequelize } from '../../src/db/sequelize.js';
import { hashPassword } from '../../src/services/passwords.js';
import { freePort } from '../helpers/ports.js';

export const ROOT = path.resolve(__dirname, '../..');
export const PASSWORD = 'a-good-long-password';
/** application_name of the app's connections (src/db/): users-and-posts, maybe with a suffix. */
export const APP_CONNECTIONS = 'users-and-posts%';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
export const now = (): number => performance.now();

/** Polls `check` every `everyMs` until it returns a value other than undefined; throws after `withinMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  options: { withinMs: number; everyMs?: number },
): Promise<T> {
  const deadline = now() + options.withinMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (now() > deadline) throw new Error(`timed out after ${options.withinMs} ms waiting for ${what}`);
    await sleep(options.everyMs ?? 50);
  }
}

// ---------------------------------------------------------------------------------------
// HTTP

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  startedAt: number;
  endedAt: number;
  ms: number;
}

export interface SendOptions {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  form?: Record<string, string>;
  /** Without one, each request has a connection of its own (and asks to close it). */
  agent?: http.Agent;
  /** The client gives up (and the promise rejects) after this long. */
  timeoutMs?: number;
}

/** One request to the app on loopback, as if through an HTTPS proxy (TRUST_PROXY=1). */
export function send(port: number, options: SendOptions): Promise<Reply> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const body = options.form ? new URLSearchParams(options.form).toString() : undefined;
  // As browsers ask, so that compression is on the path of every test.
  const headers: Record<string, string> = {
    'X-Forwarded-Proto': 'https',
    'Accept-Encoding': 'gzip',
    ...options.headers,
  };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
    headers['Content-Length'] = String(Buffer.byteLength(body));
  }
  return new Promise((resolve, reject) => {
    const startedAt = now();
    const req = http.request({
      host: '127.0.0.1',
      port,
      method: options.method ?? 'GET',
      path: options.path,
      headers,
      agent: options.agent ?? false,
    });
    const timer = setTimeout(() => {
      req.destroy(new Error(`${options.method ?? 'GET'} ${options.path}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      res.on('end', () => {
        clearTimeout(timer);
        const endedAt = now();
        const raw = Buffer.concat(chunks);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: (res.headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(raw) : raw).toString('utf8'),
          startedAt,
          endedAt,
          ms: endedAt - startedAt,
        });
      });
    });
    req.end(body);
  });
}

/** The hidden CSRF field of the first form on a page. */
export function csrfTokenIn(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!match?.[1]) throw new Error('no CSRF token on the page');
  return match[1];
}

/** The id in a `Location: /posts/<id>` header, or undefined. */
export function postIdIn(reply: Reply): number | undefined {
  const match = /^\/posts\/(\d+)$/.exec(String(reply.headers.location ?? ''));
  return match?.[1] ? Number(match[1]) : undefined;
}

/** A person with a browser: keeps the session cookie and the page's CSRF token. */
export class Visitor {
  private readonly cookies = new Map<string, string>();
  csrf: string | undefined;

  constructor(
    readonly port: number,
    readonly agent?: http.Agent,
  ) {}

  async request(options: SendOptions): Promise<Reply> {
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const reply = await send(this.port, {
      agent: this.agent,
      ...options,
      headers: { ...(cookie ? { Cookie: cookie } : {}), ...options.headers },
    });
    for (const line of reply.headers['set-cookie'] ?? []) {
      const match = /^([^=;\s]+)=([^;]*)/.exec(line);
      if (!match?.[1]) continue;
      if (match[2] === '' || /expires=Thu, 01 Jan 1970/i.test(line)) this.cookies.delete(match[1]);
      else this.cookies.set(match[1], match[2] ?? '');
    }
    return reply;
  }

  get(pathname: string, timeoutMs?: number): Promise<Reply> {
    return this.request({ path: pathname, timeoutMs });
  }

  /** Logs in through the form, then keeps the new session's CSRF token for later posts. */
  async logIn(login: string): Promise<void> {
    const form = await this.get('/login');
    if (form.status !== 200) throw new Error(`GET /login answered ${form.status}`);
    const res = await this.request({
      method: 'POST',
      path: '/login',
      form: { _csrf: csrfTokenIn(form.body), login, password: PASSWORD },
    });
    if (res.status !== 303) throw new Error(`login as ${login} failed with ${res.status}`);
    const newPost = await this.get('/posts/new');
    if (newPost.status !== 200) throw new Error(`GET /posts/new after login answered ${newPost.status}`);
    this.csrf = csrfTokenIn(newPost.body);
  }

  /** POST /posts as the logged-in person (a published post). */
  createPost(title: string, options: Pick<SendOptions, 'agent' | 'timeoutMs'> = {}): Promise<Reply> {
    if (!this.csrf) throw new Error('log in first');
    return this.request({
      method: 'POST',
      path: '/posts',
      form: { _csrf: this.csrf, title, body: `The body of ${title}.`, published: 'on' },
      ...options,
    });
  }
}

// ---------------------------------------------------------------------------------------
// The server process

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly port: number;
  /** Every line it printed, stdout and stderr, in order. */
  readonly lines: string[];
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  isRunning(): boolean;
  /** The JSON log lines (pino) it printed on stdout. */
  logs(): Record<string, unknown>[];
  /** The last lines it printed, for assertion messages. */
  tail(count?: number): string;
  /** What it logged about one request (by the X-Request-Id of its reply), shortened. */
  linesFor(requestId: string): string[];
  /** SIGKILL unless it has already exited; for `after`. */
  kill(): Promise<void>;
}

export type ServerEnv = Partial<
  Record<
    | 'DB_POOL_MAX'
    | 'DB_ACQUIRE_TIMEOUT_MS'
    | 'DB_CONNECT_TIMEOUT_MS'
    | 'DB_STATEMENT_TIMEOUT_MS'
    | 'SHUTDOWN_TIMEOUT_MS'
    | 'LOG_LEVEL'
    | 'WEB_CONCURRENCY'
    | 'TRUST_PROXY'
    | 'DATABASE_REPLICA_URLS'
    | 'REPLICA_READ_AFTER_WRITE_MS'
    | 'PAGE_CACHE_MS'
    | 'METRICS_TOKEN',
    string
  >
>;

const started: ServerProcess[] = [];

interface LogLine {
  time?: number;
  level?: number;
  msg?: string;
  req?: { method?: string; url?: string };
  res?: { statusCode?: number };
  responseTime?: number;
  err?: { type?: string; message?: string; code?: string; stack?: string };
  [key: string]: unknown;
}

/** A pino line shortened to what a failure needs: time, level, message, request, error. */
function compactLine(line: string): string {
  if (!line.startsWith('{')) return line;
  let entry: LogLine;
  try {
    entry = JSON.parse(line) as LogLine;
  } catch {
    return line;
  }
  const { time, level, msg, req, res, responseTime, err, ...rest } = entry;
  delete rest.pid;
  delete rest.hostname;
  const parts = [
    time === undefined ? '' : new Date(time).toISOString().slice(11, 23),
    String(level ?? ''),
    msg ?? '',
    req ? `${req.method} ${req.url}` : '',
    res ? `→ ${res.statusCode} in ${responseTime} ms` : '',
    err ? `${err.type}: ${err.message} (code ${err.code}) ${err.stack?.split('\n')[1]?.trim() ?? ''}` : '',
    Object.keys(rest).length > 0 ? JSON.stringify(rest) : '',
  ];
  return parts.filter(Boolean).join(' ');
}

/** Every server process a file started and has not seen exit (for `after`). */
export async function killServers(): Promise<void> {
  await Promise.all(started.map((server) => server.kill()));
}

/**
 * `node --import tsx src/server.ts` in production mode on `databaseUrl`, on a free
 * loopback port; resolves once GET /healthz answers 200.
 */
export async function startServer(databaseUrl: string, overrides: ServerEnv = {}): Promise<ServerProcess> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env };
  // A plain process, not a test file of this runner, and not the runner's test database.
  delete env.NODE_TEST_CONTEXT;
  delete env.TEST_SERVER_URL;
  delete env.TEST_TEMPLATE_DATABASE;
  Object.assign(env, {
    NODE_ENV: 'production',
    DATABASE_URL: databaseUrl,
    PORT: String(port),
    SESSION_SECRET: 'a-fault-test-session-secret-of-enough-length',
    TRUST_PROXY: '1',
    LOG_LEVEL: 'info',
    DB_POOL_MAX: '10',
    DB_ACQUIRE_TIMEOUT_MS: '1500',
    DB_CONNECT_TIMEOUT_MS: '1500',
    DB_STATEMENT_TIMEOUT_MS: '20000',
    SHUTDOWN_TIMEOUT_MS: '10000',
    RATE_LIMIT_LOGIN_PER_IP: '100000',
    RATE_LIMIT_LOGIN_PER_ACCOUNT: '100000',
    RATE_LIMIT_SIGNUP_PER_IP: '100000',
    // Every request goes to the database: these tests are about what it does when that fails.
    PAGE_CACHE_MS: '0',
    DATA_DIR: path.join(os.tmpdir(), `users-and-posts-faults-${port}`),
    ...overrides,
  });

  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const collect = (stream: NodeJS.ReadableStream | null, prefix: string): void => {
    let partial = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) if (line.trim()) lines.push(prefix + line);
    });
    stream?.on('end', () => {
      if (partial.trim()) lines.push(prefix + partial);
    });
  };
  collect(child.stdout, '');
  collect(child.stderr, '[stderr] ');
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal, at: now() }));
  });

  const server: ServerProcess = {
    child,
    pid: child.pid ?? -1,
    port,
    lines,
    exited,
    isRunning: () => child.exitCode === null && child.signalCode === null,
    logs: () =>
      lines.flatMap((line) => {
        if (!line.startsWith('{')) return [];
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
    tail: (count = 25) => {
      const errors = lines.filter((line) => /^\[stderr\]|"level":(50|60)/.test(line)).slice(-8);
      return (
        `\n--- server errors and stderr (last ${errors.length}) ---\n${errors.map(compactLine).join('\n')}` +
        `\n--- server output (last ${count} lines of ${lines.length}) ---\n${lines.slice(-count).map(compactLine).join('\n')}\n---`
      );
    },
    linesFor: (requestId) => lines.filter((line) => line.includes(`"id":"${requestId}"`)).map(compactLine),
    async kill() {
      if (!server.isRunning()) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
  started.push(server);

  try {
    await waitFor(
      'GET /healthz to answer 200',
      async () => {
        if (!server.isRunning()) throw new Error(`the server exited while starting${server.tail()}`);
        const res = await send(port, { path: '/healthz', timeoutMs: 1000 }).catch(() => undefined);
        return res?.status === 200 ? true : undefined;
      },
      { withinMs: 30_000, everyMs: 100 },
    );
  } catch (error) {
    await server.kill();
    throw new Error(`${(error as Error).message}${server.tail()}`, { cause: error });
  }
  return server;
}

// ---------------------------------------------------------------------------------------
// PostgreSQL

const ADMIN_SETTINGS = {
  dbPoolMax: 1,
  dbPoolMin: 0,
  dbAcquireTimeoutMs: 10_000,
  dbConnectTimeoutMs: 10_000,
  dbStatementTimeoutMs: 60_000,
  dbSlowQueryMs: 60_000,
};

/** Runs the app's migrations on `url`. */
export async function migrateDatabase(url: string): Promise<void> {
  const sequelize = createSequelize(url, ADMIN_SETTINGS);
  try {
    await migrate(sequelize);
  } finally {
    await sequelize.close();
  }
}

/** A small pool for the test's own queries, outside the app. */
export function sqlPool(url: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 3, application_name: 'fault-test' });
  // The test stops the server under idle clients on purpose.
  pool.on('error', () => undefined);
  return pool;
}

export async function scalar<T>(db: pg.Pool | pg.PoolClient, sql: string, params: unknown[] = []): Promise<T> {
  const result = await db.query({ text: sql, values: params, rowMode: 'array' });
  return (result.rows[0] as unknown[] | undefined)?.[0] as T;
}

/** Users whose posts_count differs from their number of posts (the invariant says none). */
export function counterMismatches(db: pg.Pool): Promise<number> {
  return scalar<number>(
    db,
    `SELECT count(*)::int FROM users u WHERE u.posts_count <> (SELECT count(*) FROM posts p WHERE p.author_id = u.id)`,
  );
}

export interface TestUser {
  id: number;
  username: string;
}

/** `count` members who can log in with PASSWORD, inserted directly. */
export async function createUsers(db: pg.Pool, count: number, prefix: string): Promise<TestUser[]> {
  const hash = await hashPassword(PASSWORD);
  const users: TestUser[] = [];
  for (let i = 0; i < count; i++) {
    const username = `${prefix}_${i}_${Math.random().toString(36).slice(2, 8)}`;
    const id = await scalar<number>(
      db,
      `INSERT INTO users (username, email, password_hash, display_name) VALUES ($1, $2, $3, $4) RETURNING id`,
      [username, `${username}@example.com`, hash, `User ${username}`],
    );
    users.push({ id, username });
  }
  return users;
}

/** Holds a row lock on a user, as another writer would: POST /posts by them waits behind it. */
export async function lockUser(db: pg.Pool, userId: number): Promise<{ release(): Promise<void> }> {
  const client = await db.connect();
  // The outage tests stop the server under this connection: that must not crash the test.
  let broken: Error | undefined;
  client.on('error', (error) => (broken = error));
  await client.query('BEGIN');
  await client.query('SELECT id FROM users WHERE id = $1 FOR UPDATE', [userId]);
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      if (!broken) await client.query('ROLLBACK').catch((error: Error) => (broken = error));
      client.release(broken);
    },
  };
}

/** How many of the app's connections on this database wait on a lock right now. */
export function appConnectionsWaitingOnLocks(db: pg.Pool): Promise<number> {
  return scalar<number>(
    db,
    `SELECT count(*)::int FROM pg_stat_activity
      WHERE datname = current_database() AND application_name LIKE $1 AND wait_event_type = 'Lock'`,
    [APP_CONNECTIONS],
  );
}

/** What every other connection to this database is doing, for assertion messages. */
export async function activity(db: pg.Pool): Promise<string> {
  const { rows } = await db.query<Record<string, string>>(
    `SELECT application_name, state, wait_event_type, wait_event, left(query, 80) AS query
       FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
  );
  return `\n--- pg_stat_activity ---\n${rows.map((row) => Object.values(row).join(' | ')).join('\n')}`;
}

/** Waits until `count` of the app's connections wait on a lock; explains what they do otherwise. */
export async function waitForLockWaiters(db: pg.Pool, count: number, server: ServerProcess): Promise<void> {
  try {
    await waitFor(
      `${count} of the app's connections waiting on a lock`,
      async () => ((await appConnectionsWaitingOnLocks(db)) === count ? true : undefined),
      { withinMs: 5000 },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}${await activity(db)}${server.tail()}`, { cause: error });
  }
}

/** How many of the app's connections on this database are open right now. */
export function appConnections(db: pg.Pool): Promise<number> {
  return scalar<number>(
    db,
    `SELECT count(*)::int FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE $1`,
    [APP_CONNECTIONS],
  );
}

export interface OwnPostgres {
  readonly url: string;
  readonly dataDir: string;
  readonly port: number;
  running(): boolean;
  /** Fast shutdown (SIGINT to the postmaster); resolves once it has exited. */
  stopFast(): Promise<void>;
  /** Immediate shutdown (SIGQUIT to the postmaster); resolves once it has exited. */
  stopImmediate(): Promise<void>;
  /** Starts the same cluster again on the same port; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops it (if running) and removes its data directory. */
  close(): Promise<void>;
}

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * A PostgreSQL cluster of the test file's own, migrated, that the test may stop and start
 * (never the runner's shared one: other files use it).
 */
export async function startOwnPostgres(): Promise<OwnPostgres> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'users-and-posts-faults-pg-'));
  // PostgreSQL runs as the `postgres` user when we are root: it must reach its directory.
  fs.chmodSync(dataDir, 0o755);
  const port = await freePort();
  let current: EmbeddedDatabase | undefined;
  try {
    current = await startEmbeddedPostgres({ dataDir, port });
    await migrateDatabase(current.url);
  } catch (error) {
    await current?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const url = current.url;
  const postmasterPid = (): number => {
    const first = fs.readFileSync(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0];
    const pid = Number(first);
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no postmaster pid in ${dataDir}`);
    return pid;
  };

  return {
    url,
    dataDir,
    port,
    running: () => current !== undefined,
    async stopFast() {
      const handle = current;
      if (!handle) throw new Error('PostgreSQL is not running');
      current = undefined;
      await handle.stop();
    },
    async stopImmediate() {
      const handle = current;
      if (!handle) throw new Error('PostgreSQL is not running');
      current = undefined;
      const pid = postmasterPid();
      process.kill(pid, 'SIGQUIT');
      // The handle's own stop then waits for that exit; the SIGINT it sends cannot soften
      // the immediate shutdown already requested.
      const forgotten = handle.stop();
      await waitFor('the postmaster to exit', () => (processGone(pid) ? true : undefined), {
        withinMs: 15_000,
        everyMs: 20,
      });
      await forgotten;
    },
    async start() {
      if (current) throw new Error('PostgreSQL is already running');
      current = await startEmbeddedPostgres({ dataDir, port });
    },
    async close() {
      const handle = current;
      current = undefined;
      await handle?.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------
// Reading results

/** One line per reply, and what the server logged about it, for assertion messages. */
export function describeReplies(
  replies: { label: string; reply?: Reply; error?: string }[],
  server?: ServerProcess,
  limit = 12,
): string {
  return replies
    .slice(0, limit)
    .map(({ label, reply, error }) => {
      if (!reply) return `${label} → ${error}`;
      const id = String(reply.headers['x-request-id'] ?? '');
      const logged = server && id ? server.linesFor(id).map((line) => `\n      server: ${line}`) : [];
      return (
        `${label} → ${reply.status} in ${Math.round(reply.ms)} ms ` +
        `(retry-after ${String(reply.headers['retry-after'])}, request id ${id})${logged.join('')}`
      );
    })
    .join('\n');
}
