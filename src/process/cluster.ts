import cluster from 'node:cluster';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { answerWorkerScrapes } from '../observability/metrics.js';
import { sessionSecret } from './local-install.js';
import type { Shutdown } from './shutdown.js';

// A worker that dies this often is failing at start, not unlucky: stop instead of looping.
const CRASH_WINDOW_MS = 30_000;
const MAX_CRASHES = 5;
const RESTART_DELAY_MS = 500;

/**
 * WEB_CONCURRENCY > 1: this process keeps the database set up (the embedded server, the
 * migrations) and forks the workers, which share the port (the primary hands out
 * connections in turn). A worker that dies is replaced. On SIGTERM/SIGINT each worker
 * drains and stops as a lone process would, then the embedded PostgreSQL stops.
 */
export function runPrimary(
  url: string,
  config: Config,
  logger: Logger,
  shutdown: Shutdown,
  afterListening: () => void,
): void {
  // Made once here, so the workers all read the same one (outside production).
  sessionSecret(config);
  // A scrape reaches one worker, which asks here for the sum over all of them.
  answerWorkerScrapes();
  let stopping = false;
  let failed = false;
  shutdown.add(async () => {
    stopping = true;
    const workers = Object.values(cluster.workers ?? {}).filter((worker) => worker !== undefined);
    const exits = workers.map(
      (worker) => new Promise<number>((resolve) => worker.once('exit', (code: number | null) => resolve(code ?? 1))),
    );
    // Each drains as a lone process does; one that overruns its own timeout is killed.
    for (const worker of workers) worker.process.kill('SIGTERM');
    const overrun = setTimeout(() => {
      for (const worker of workers) worker.process.kill('SIGKILL');
    }, config.shutdownTimeoutMs + 5000);
    const codes = await Promise.all(exits);
    clearTimeout(overrun);
    logger.info({ workers: codes.length }, 'workers stopped');
    return !failed && codes.every((code) => code === 0) ? 0 : 1;
  });

  const crashes: number[] = [];
  const fork = (): void => {
    // The workers reach the database this process set up, never one of their own.
    cluster.fork({ DATABASE_URL: url });
  };
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    const now = Date.now();
    crashes.push(now);
    while (crashes[0]! < now - CRASH_WINDOW_MS) crashes.shift();
    if (crashes.length > MAX_CRASHES) {
      logger.fatal({ crashes: crashes.length, windowMs: CRASH_WINDOW_MS }, 'workers keep dying: stopping');
      failed = true;
      shutdown.now('workers keep dying');
      return;
    }
    logger.error({ worker: worker.process.pid, code, signal }, 'a worker died: starting another');
    setTimeout(fork, RESTART_DELAY_MS).unref();
  });

  let listening = 0;
  cluster.on('listening', () => {
    if (++listening === config.webConcurrency) afterListening();
  });
  for (let i = 0; i < config.webConcurrency; i++) fork();
}
