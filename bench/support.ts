// What every bench script shares: progress on stderr, percentiles and medians, process memory,
// one short-lived SQL connection, and the cleanup run at the end or on a signal.
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { clientConfig, parseDatabaseUrl } from '../src/db/connection.js';

export const ROOT = path.resolve(__dirname, '..');

/** Progress goes to stderr: stdout carries only the report. */
export const log = (message: string): void => void process.stderr.write(`${message}\n`);

/** The p-th percentile (0–100) of `sorted` (ascending), nearest-rank; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Resident memory of a process in MiB (Linux: VmRSS of /proc/<pid>/status), if readable. */
export function rssMiB(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** One short-lived connection for the script's own queries. */
export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(await clientConfig(parseDatabaseUrl(url), { application_name: 'bench' }));
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Steps to undo, run last-registered first, once, whatever happened before. */
export class Cleanup {
  private readonly steps: { name: string; run: () => unknown }[] = [];
  private running: Promise<void> | undefined;

  add(name: string, run: () => unknown): void {
    this.steps.push({ name, run });
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      for (const step of this.steps.reverse()) {
        try {
          await step.run();
        } catch (error) {
          console.error(`cleanup: ${step.name} failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    })();
    return this.running;
  }
}

/**
 * Runs a bench script's `work` with a Cleanup run at its end and on SIGINT/SIGTERM (exit
 * 130), then exits: 0 when `work` says all went well, 1 when not or when it throws.
 */
export function runScript(what: string, work: (cleanup: Cleanup, signal: AbortSignal) => Promise<boolean>): void {
  const cleanup = new Cleanup();
  const interrupted = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    console.error(`\n${signal}: cleaning up…`);
    interrupted.abort();
    void cleanup.run().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const done = async (): Promise<number> => {
    try {
      return (await work(cleanup, interrupted.signal)) ? 0 : 1;
    } catch (error) {
      if (interrupted.signal.aborted) return 130;
      console.error(`\n${what} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      return 1;
    } finally {
      await cleanup.run();
    }
  };
  void done().then((code) => process.exit(code));
}
