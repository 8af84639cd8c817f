// The processes under load, each in its own process group on a free loopback port: the app
// (`src/server.ts`, production mode), and the reference tools of ../shared/bench.
import { type ChildProcess, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../test/support/ports.js';
import { type Cleanup, log, ROOT, sleep } from './support.js';

export const REFERENCE_DIR = path.resolve(ROOT, '../shared/bench');
const REFERENCE_SERVER = path.join(REFERENCE_DIR, 'reference-server.mjs');
const COMPARE = path.join(REFERENCE_DIR, 'compare.mjs');
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;
const KEPT_LINES = 200;
const UNLIMITED = '1000000';

/** Every request carries this: the app trusts one proxy hop and then sets Secure cookies. */
export const FORWARDED_HEADERS = { 'x-forwarded-proto': 'https' } as const;

/** A child process of ours; its own process group, so that Ctrl-C reaches this script only. */
export class Child {
  private exitCode: number | null | undefined;
  private readonly exited: Promise<number | null>;
  private readonly recent: string[] = [];

  constructor(
    private readonly proc: ChildProcess,
    readonly origin = '',
    onLine?: (line: string) => void,
  ) {
    this.exited = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : null);
        resolve(code);
      });
    });
    for (const stream of [proc.stdout, proc.stderr]) {
      let pending = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        const lines = (pending + chunk).split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines.filter((l) => l.trim())) {
          this.recent.push(line);
          if (this.recent.length > KEPT_LINES) this.recent.shift();
          onLine?.(line);
        }
      });
    }
  }

  static start(args: string[], env: NodeJS.ProcessEnv, origin?: string, onLine?: (line: string) => void): Child {
    const proc = spawn(process.execPath, args, { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    return new Child(proc, origin, onLine);
  }

  get pid(): number {
    return this.proc.pid!;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** The last lines the process printed, for a failure report. */
  tail(lines = 20): string[] {
    return this.recent.slice(-lines);
  }

  /** Polls `path` until it answers 2xx. */
  async waitUntilReady(path: string): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.origin} exited (code ${this.exitCode}):\n${this.tail().join('\n')}`);
      try {
        const res = await fetch(this.origin + path, { headers: FORWARDED_HEADERS });
        await res.arrayBuffer();
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    throw new Error(`${this.origin}${path} did not answer within ${READY_TIMEOUT_MS / 1000} s`);
  }

  /** SIGTERM, then wait for the exit (SIGKILL after STOP_TIMEOUT_MS). The exit code, or null. */
  async stop(): Promise<number | null> {
    if (!this.running) return this.exitCode ?? null;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  onExit(): Promise<number | null> {
    return this.exited;
  }
}

/** One error the app logged: its error and code, and its first stack frames in the project's own code. */
export interface LoggedError {
  method?: string;
  url?: string;
  error: string;
  where: string;
}

interface LogEntry {
  level?: number;
  msg?: string;
  durationMs?: number;
  req?: { id?: string; method?: string; url?: string };
  err?: { type?: string; message?: string; code?: string; stack?: string; parent?: { code?: string } };
}

/** What the app logged: lines by level, warnings and errors by message, errors by request id. */
export class AppLog {
  readonly levels: Record<string, number> = {};
  readonly errors = new Map<string, number>();
  readonly messages = new Map<string, { count: number; maxMs: number | undefined }>();
  readonly byRequestId = new Map<string, LoggedError>();
  /** The first few lines not from the logger (the startup banner aside). */
  readonly plain: string[] = [];

  record(line: string): void {
    let entry: LogEntry | undefined;
    try {
      entry = JSON.parse(line) as LogEntry;
    } catch {
      if (line.startsWith('  ')) return;
    }
    const level = !entry
      ? 'plain'
      : ['debug', 'info', 'warn', 'error', 'fatal'][
          Math.min(4, Math.max(0, Math.floor((entry.level ?? 30) / 10) - 2))
        ]!;
    this.levels[level] = (this.levels[level] ?? 0) + 1;
    if (!entry) {
      if (this.plain.length < 5) this.plain.push(line.slice(0, 300));
      return;
    }
    if (level === 'warn' || level === 'error' || level === 'fatal') {
      const key = `${level === 'warn' ? 'warning' : 'error'} “${entry.msg ?? '(no message)'}”`;
      const group = this.messages.get(key) ?? { count: 0, maxMs: undefined };
      group.count++;
      if (typeof entry.durationMs === 'number') group.maxMs = Math.max(group.maxMs ?? 0, entry.durationMs);
      this.messages.set(key, group);
    }
    if (level !== 'error' && level !== 'fatal') return;
    const err = entry.err ?? {};
    const code = err.code ?? err.parent?.code;
    const logged: LoggedError = {
      method: entry.req?.method,
      url: entry.req?.url,
      error: `${err.type ?? 'Error'}${code ? ` [${code}]` : ''}: ${err.message ?? ''}`.slice(0, 300),
      where: (err.stack ?? '')
        .split('\n')
        .filter((l) => l.trim().startsWith('at ') && !l.includes('node_modules') && !l.includes('node:'))
        .slice(0, 2)
        .map((l) => l.trim().replace(/^at /, '').replace(`${ROOT}/`, ''))
        .join(' < '),
    };
    const key = `${entry.msg ?? '(no msg)'}: ${logged.error}`.slice(0, 200);
    this.errors.set(key, (this.errors.get(key) ?? 0) + 1);
    if (entry.req?.id) this.byRequestId.set(entry.req.id, logged);
  }

  /** The warnings and errors by level and message, e.g. `warning “slow query” ×3 (up to 120 ms)`. */
  summary(): string {
    if (this.messages.size === 0) return 'no warning and no error';
    return [...this.messages]
      .sort(([, a], [, b]) => b.count - a.count)
      .map(
        ([key, { count, maxMs }]) => `${key} ×${count}${maxMs === undefined ? '' : ` (up to ${Math.round(maxMs)} ms)`}`,
      )
      .join(', ');
  }
}

export type AppProcess = Child & { log: AppLog };

/** Starts the app (`env` adds to its environment), stopped by `cleanup`; resolves once it answers. */
export async function startApp(
  url: string,
  cleanup: Cleanup,
  env: NodeJS.ProcessEnv = {},
  logPath?: string,
): Promise<AppProcess> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'users-and-posts-bench-app-'));
  cleanup.add('remove the app data directory', () => fs.rmSync(dataDir, { recursive: true, force: true }));
  const port = await freePort();
  const logFile = logPath ? fs.createWriteStream(logPath, { flags: 'w' }) : undefined;
  const appLog = new AppLog();
  const settings = {
    NODE_ENV: 'production',
    DATABASE_URL: url,
    PORT: String(port),
    SESSION_SECRET: crypto.randomBytes(36).toString('base64url'),
    TRUST_PROXY: '1',
    LOG_LEVEL: 'warn',
    RATE_LIMIT_LOGIN_PER_IP: UNLIMITED,
    RATE_LIMIT_LOGIN_PER_ACCOUNT: UNLIMITED,
    RATE_LIMIT_SIGNUP_PER_IP: UNLIMITED,
    DB_POOL_MAX: '10',
    DATA_DIR: dataDir,
    PUBLIC_URL: '',
  };
  const child = Child.start(
    ['--import', 'tsx', 'src/server.ts'],
    { ...process.env, ...settings, ...env },
    `http://127.0.0.1:${port}`,
    (line) => {
      logFile?.write(`${line}\n`);
      appLog.record(line);
    },
  );
  const app = Object.assign(child, { log: appLog });
  cleanup.add('stop the app', async () => {
    if (!app.running) return;
    const code = await app.stop();
    logFile?.end();
    // 143 = 128 + SIGTERM: the process ended on the signal, not by its own orderly stop.
    if (code !== 0)
      log(`the app exited with code ${code}${code === 143 ? ' (no orderly stop)' : ''}:\n${app.tail(5).join('\n')}`);
  });
  await app.waitUntilReady('/healthz');
  return app;
}

export const referenceToolsPresent = (): boolean => fs.existsSync(REFERENCE_SERVER) && fs.existsSync(COMPARE);

/** ../shared/bench/reference-server.mjs on the same database, with the app's pool size. */
export async function startReference(url: string, cleanup: Cleanup): Promise<Child> {
  const port = await freePort();
  const env = { ...process.env, DATABASE_URL: url, PORT: String(port), DB_POOL_MAX: '10' };
  const child = Child.start([REFERENCE_SERVER], env, `http://127.0.0.1:${port}`);
  cleanup.add('stop the reference server', () => child.stop());
  await child.waitUntilReady('/posts');
  return child;
}

/** What compare.mjs printed: its table of rounds, the median A/B ratio of requests/s, its warning. */
export interface Comparison {
  table: string;
  median: number | undefined;
  rounds: number[];
  warning: string | undefined;
  exitCode: number | null;
  output: string;
}

/** `compare.mjs a b rounds seconds connections`, to its end. */
export async function compare(
  a: string,
  b: string,
  rounds: number,
  seconds: number,
  connections: number,
  cleanup: Cleanup,
): Promise<Comparison> {
  const child = Child.start([COMPARE, a, b, String(rounds), String(seconds), String(connections)], process.env);
  cleanup.add('stop compare.mjs', () => child.stop());
  const exitCode = await child.onExit();
  const lines = child.tail(KEPT_LINES);
  const output = lines.join('\n');
  const first = lines.findIndex((line) => line.startsWith('┌'));
  const last = lines.findIndex((line) => line.startsWith('└'));
  const match = /median A\/B requests per second: ([\d.]+) \(rounds: ([^)]*)\)/.exec(output);
  return {
    table: first >= 0 && last > first ? lines.slice(first, last + 1).join('\n') : '',
    median: match?.[1] ? Number(match[1]) : undefined,
    rounds: match?.[2] ? match[2].trim().split(/\s+/).map(Number) : [],
    warning: lines.find((line) => line.startsWith('WARNING:')),
    exitCode,
    output: output.slice(-4000),
  };
}
