// The app under load: `node --import tsx src/server.ts` as a process of its own, in
// production mode, on a free loopback port.
import { type ChildProcess, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../test/support/ports.js';
import { sleep } from './support.js';

const ROOT = path.resolve(__dirname, '..');
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;
const KEPT_LOG_LINES = 200;
const PLAIN_EXAMPLES = 5;
const UNLIMITED = '1000000';

/** Every request carries this: the app trusts one proxy hop and then sets Secure cookies. */
export const FORWARDED_HEADERS = { 'x-forwarded-proto': 'https' } as const;

/** One error the app logged, reduced to what a report needs. */
export interface LoggedError {
  msg: string;
  method?: string;
  url?: string;
  /** err.type, err.code and err.message, or the parent's code when the error wraps one. */
  error: string;
  /** The first stack frames in the project's own code (outside node_modules). */
  where: string;
}

export interface LogSummary {
  /** Log lines by pino level name (warn, error, fatal), plus `plain` for other output (bar the banner). */
  levels: Record<string, number>;
  /** Error lines grouped by message and error, with their counts. */
  errors: Map<string, number>;
  /** Error lines of requests, by request id (the X-Request-Id the app answers with). */
  byRequestId: Map<string, LoggedError>;
  /** The first few non-JSON lines. */
  plainExamples: string[];
}

interface LogEntry {
  level?: number;
  msg?: string;
  req?: { id?: string; method?: string; url?: string };
  err?: { type?: string; message?: string; code?: string; stack?: string; parent?: { code?: string } };
}

function describe(entry: LogEntry): LoggedError {
  const err = entry.err ?? {};
  const code = err.code ?? err.parent?.code;
  const frames = (err.stack ?? '')
    .split('\n')
    .filter((line) => line.trim().startsWith('at ') && !line.includes('node_modules') && !line.includes('node:'))
    .slice(0, 2)
    .map((line) => line.trim().replace(/^at /, '').replace(`${ROOT}/`, ''));
  return {
    msg: entry.msg ?? '(no msg)',
    method: entry.req?.method,
    url: entry.req?.url,
    error: `${err.type ?? 'Error'}${code ? ` [${code}]` : ''}: ${err.message ?? ''}`.slice(0, 300),
    where: frames.join(' < '),
  };
}

export class AppProcess {
  private exited: Promise<number | null>;
  private exitCode: number | null | undefined;
  private readonly recent: string[] = [];
  readonly logs: LogSummary = { levels: {}, errors: new Map(), byRequestId: new Map(), plainExamples: [] };

  private constructor(
    private readonly child: ChildProcess,
    readonly origin: string,
    private readonly logFile: fs.WriteStream | undefined,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : null);
        resolve(code);
      });
    });
    const collect = (stream: NodeJS.ReadableStream | null): void => {
      let pending = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        pending += chunk;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) if (line.trim()) this.record(line);
      });
    };
    collect(child.stdout);
    collect(child.stderr);
  }

  /** Spawns the app (`env` adds to or overrides its environment); `waitUntilHealthy` then waits for it to answer. */
  static async launch(
    databaseUrl: string,
    dataDir: string,
    logPath?: string,
    env: NodeJS.ProcessEnv = {},
  ): Promise<AppProcess> {
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: ROOT,
      // Its own process group: Ctrl-C in the terminal reaches this script only, which then
      // stops the app in order (SIGTERM) before the database.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        NODE_ENV: 'production',
        DATABASE_URL: databaseUrl,
        PORT: String(port),
        SESSION_SECRET: crypto.randomBytes(36).toString('base64url'), // 48 characters
        TRUST_PROXY: '1',
        LOG_LEVEL: 'warn',
        RATE_LIMIT_LOGIN_PER_IP: UNLIMITED,
        RATE_LIMIT_LOGIN_PER_ACCOUNT: UNLIMITED,
        RATE_LIMIT_SIGNUP_PER_IP: UNLIMITED,
        DB_POOL_MAX: '10',
        DATA_DIR: dataDir,
        PUBLIC_URL: '',
        ...env,
      },
    });
    const logFile = logPath ? fs.createWriteStream(logPath, { flags: 'w' }) : undefined;
    return new AppProcess(child, `http://127.0.0.1:${port}`, logFile);
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** The last lines the app printed, for a failure report. */
  tail(lines = 20): string[] {
    return this.recent.slice(-lines);
  }

  private record(line: string): void {
    this.logFile?.write(`${line}\n`);
    this.recent.push(line);
    if (this.recent.length > KEPT_LOG_LINES) this.recent.shift();
    let entry: LogEntry | undefined;
    try {
      entry = JSON.parse(line) as LogEntry;
    } catch {
      entry = undefined;
    }
    // The startup banner (indented plain lines) is not worth counting.
    if (!entry && line.startsWith('  ')) return;
    const level = typeof entry?.level === 'number' ? levelName(entry.level) : 'plain';
    this.logs.levels[level] = (this.logs.levels[level] ?? 0) + 1;
    if (!entry) {
      if (this.logs.plainExamples.length < PLAIN_EXAMPLES) this.logs.plainExamples.push(line.slice(0, 300));
    } else if (level === 'error' || level === 'fatal') {
      const logged = describe(entry);
      const key = `${logged.msg}: ${logged.error}`.slice(0, 200);
      this.logs.errors.set(key, (this.logs.errors.get(key) ?? 0) + 1);
      if (entry.req?.id) this.logs.byRequestId.set(entry.req.id, logged);
    }
  }

  async waitUntilHealthy(): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`the app exited (code ${this.exitCode}):\n${this.tail().join('\n')}`);
      try {
        const res = await fetch(`${this.origin}/healthz`, { headers: FORWARDED_HEADERS });
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    throw new Error(`the app did not answer /healthz within ${READY_TIMEOUT_MS / 1000} s`);
  }

  /** SIGTERM, then wait for the exit (SIGKILL after STOP_TIMEOUT_MS). The exit code, or null. */
  async stop(): Promise<number | null> {
    if (!this.running) return this.exitCode ?? null;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      console.error(`the app did not exit within ${STOP_TIMEOUT_MS / 1000} s of SIGTERM: killing it`);
      this.child.kill('SIGKILL');
    }, STOP_TIMEOUT_MS);
    const code = await this.exited;
    clearTimeout(timer);
    this.logFile?.end();
    return code;
  }

  /** Resolves when the app exits by itself. */
  onExit(): Promise<number | null> {
    return this.exited;
  }
}

function levelName(level: number): string {
  if (level >= 60) return 'fatal';
  if (level >= 50) return 'error';
  if (level >= 40) return 'warn';
  if (level >= 30) return 'info';
  return 'debug';
}
