// The reference tools of ../shared/bench, run as they are: the one-query posts index
// (reference-server.mjs) and the side-by-side load of two URLs (compare.mjs).
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../test/support/ports.js';
import { sleep } from './support.js';

const ROOT = path.resolve(__dirname, '..');
export const REFERENCE_DIR = path.resolve(ROOT, '../shared/bench');
const SERVER = path.join(REFERENCE_DIR, 'reference-server.mjs');
const COMPARE = path.join(REFERENCE_DIR, 'compare.mjs');
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5000;
const KEPT_OUTPUT_CHARS = 4000;

export function referenceToolsPresent(): boolean {
  return fs.existsSync(SERVER) && fs.existsSync(COMPARE);
}

/** A child process of ours, in its own process group (stopped in order by the cleanup). */
class Child {
  private exitCode: number | null | undefined;
  private readonly exited: Promise<void>;
  output = '';

  constructor(readonly proc: ChildProcess) {
    this.exited = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : null);
        resolve();
      });
    });
    const keep = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString('utf8')).slice(-KEPT_OUTPUT_CHARS);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  get code(): number | null | undefined {
    return this.exitCode;
  }

  wait(): Promise<void> {
    return this.exited;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }
}

function start(args: string[], env: NodeJS.ProcessEnv): Child {
  // Its own process group: Ctrl-C reaches this script only, which then stops it.
  return new Child(
    spawn(process.execPath, args, { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] }),
  );
}

export class ReferenceServer {
  private constructor(
    private readonly child: Child,
    readonly origin: string,
  ) {}

  static async launch(databaseUrl: string): Promise<ReferenceServer> {
    const port = await freePort();
    // The app's pool size (bench/app.ts), so that both have as many connections.
    const child = start([SERVER], { ...process.env, DATABASE_URL: databaseUrl, PORT: String(port), DB_POOL_MAX: '10' });
    return new ReferenceServer(child, `http://127.0.0.1:${port}`);
  }

  get pid(): number {
    return this.child.proc.pid!;
  }

  async waitUntilReady(): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (!this.child.running) {
        throw new Error(`the reference server exited (code ${this.child.code}):\n${this.child.output}`);
      }
      try {
        const res = await fetch(`${this.origin}/posts`);
        await res.arrayBuffer();
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    throw new Error(`the reference server did not answer within ${READY_TIMEOUT_MS / 1000} s`);
  }

  stop(): Promise<void> {
    return this.child.stop();
  }
}

export interface Comparison {
  /** compare.mjs's table of rounds, as it printed it. */
  table: string;
  /** Median ratio A/B of requests per second; undefined when compare.mjs printed none. */
  median: number | undefined;
  rounds: number[];
  /** compare.mjs's warning about errors, non-2xx or timeouts, if any. */
  warning: string | undefined;
  exitCode: number | null | undefined;
  output: string;
}

/** `compare.mjs a b rounds seconds connections`, to its end; `stop` is registered for the cleanup. */
export async function compare(
  a: string,
  b: string,
  options: { rounds: number; seconds: number; connections: number },
  onStart: (stop: () => Promise<void>) => void,
): Promise<Comparison> {
  const child = start([COMPARE, a, b, String(options.rounds), String(options.seconds), String(options.connections)], {
    ...process.env,
  });
  onStart(() => child.stop());
  await child.wait();
  return parseComparison(child.output, child.code);
}

export function parseComparison(output: string, exitCode: number | null | undefined): Comparison {
  const lines = output.split('\n');
  const first = lines.findIndex((line) => line.startsWith('┌'));
  const last = lines.findIndex((line) => line.startsWith('└'));
  const table = first >= 0 && last > first ? lines.slice(first, last + 1).join('\n') : '';
  const match = /median A\/B requests per second: ([\d.]+) \(rounds: ([^)]*)\)/.exec(output);
  return {
    table,
    median: match?.[1] ? Number(match[1]) : undefined,
    rounds: match?.[2] ? match[2].trim().split(/\s+/).map(Number) : [],
    warning: lines.find((line) => line.startsWith('WARNING:')),
    exitCode,
    output,
  };
}
