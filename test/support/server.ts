// The real server process (src/server.ts, production mode) on a free port, its output, and replies read against it.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { send, type Reply } from './http.js';
import { freePort } from './ports.js';
import { now, waitFor } from './wait.js';

export const ROOT = path.resolve(__dirname, '../..');

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
    | 'METRICS_TOKEN'
    | 'SMTP_URL'
    | 'PUBLIC_URL'
    | 'MAIL_POLL_MS',
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
 * How `npm start` runs node, read from package.json (the one place it is set): its node
 * flags (the heap's sizes), and the environment it gives node unless already set
 * (`NAME=${NAME:-value}` before `exec`, as MALLOC_ARENA_MAX).
 */
export const { START_FLAGS, START_ENV } = ((): { START_FLAGS: string[]; START_ENV: Record<string, string> } => {
  const { scripts } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const start = /^((?:\w+=\$\{\w+:-[^}\s]+\} )*)exec node (.*) --import tsx src\/server\.ts$/.exec(scripts.start ?? '');
  if (!start)
    throw new Error(
      `npm start is no longer "[NAME=\${NAME:-value} …] exec node … --import tsx src/server.ts": ${scripts.start}`,
    );
  const defaults = [...start[1]!.matchAll(/(\w+)=\$\{(\w+):-([^}\s]+)\}/g)].map(([, name, again, value]) => {
    if (name !== again) throw new Error(`npm start sets ${name} from \${${again}}`);
    return [name!, value!] as const;
  });
  return { START_FLAGS: start[2]!.split(' '), START_ENV: Object.fromEntries(defaults) };
})();

/**
 * `node --import tsx src/server.ts` with npm start's flags, in production mode on
 * `databaseUrl`, on a free loopback port; resolves once GET /healthz answers 200.
 */
export async function startServer(databaseUrl: string, overrides: ServerEnv = {}): Promise<ServerProcess> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...START_ENV, ...process.env };
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
    // Production needs a way to send mail: the tests that send some give SMTP_URL.
    MAIL_DISABLED: overrides.SMTP_URL ? 'false' : 'true',
    DATA_DIR: path.join(os.tmpdir(), `users-and-posts-faults-${port}`),
    ...overrides,
  });

  const child = spawn(process.execPath, [...START_FLAGS, '--import', 'tsx', 'src/server.ts'], {
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
