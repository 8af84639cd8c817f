import type { Logger } from 'pino';

/**
 * What stops the process, as a registry: each start step adds how to undo itself, and the
 * first SIGTERM or SIGINT (or `now`) runs the tasks in reverse order, then exits with the
 * worst of their codes. A signal that arrives while the process is still starting is kept
 * until `started()`: stopping half-started would leave the embedded PostgreSQL behind.
 */
export interface Shutdown {
  add(task: () => Promise<number | void>): void;
  started(): void;
  /** Stops now; `reason`: the signal's name, or why this process stops by itself. */
  now(reason: string): void;
  /** Undoes what a failed start did, without exiting. */
  undo(): Promise<void>;
}

export function shutdownOnSignals(logger: Logger): Shutdown {
  const tasks: (() => Promise<number | void>)[] = [];
  let ready = false;
  let requested: string | undefined;
  let stopping = false;
  const runTasks = async (): Promise<number> => {
    let code = 0;
    for (const task of tasks.splice(0).reverse()) code = Math.max(code, (await task()) ?? 0);
    return code;
  };
  const shutdown: Shutdown = {
    add: (task) => tasks.push(task),
    started() {
      ready = true;
      if (requested) shutdown.now(requested);
    },
    now(reason) {
      if (!ready) {
        requested ??= reason;
        return;
      }
      if (stopping) return;
      stopping = true;
      logger.info({ signal: reason }, 'shutting down: draining in-flight requests');
      runTasks().then(
        (code) => {
          logger.info({ code }, 'stopped');
          process.exit(code);
        },
        (error: unknown) => {
          logger.fatal({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    },
    undo: async () => void (await runTasks()),
  };
  process.once('SIGTERM', () => shutdown.now('SIGTERM'));
  process.once('SIGINT', () => shutdown.now('SIGINT'));
  return shutdown;
}
