// The process: configuration → database → app → listen, and an orderly stop on signals.
import cluster from 'node:cluster';
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import { inspect } from 'node:util';
import type { Logger } from 'pino';
import { createApp, type Lifecycle } from './app.js';
import { StartupError } from './errors.js';
import { createLogger } from './logging.js';
import { type Config, loadConfig } from './config.js';
import { parseDatabaseUrl, serverName } from './db/connection.js';
import { createDatabase, type Database } from './db/database.js';
import { type EmbeddedDatabase, startEmbeddedPostgres } from './db/embedded.js';
import { migrate, pendingMigrations, runSeeders } from './db/migrator.js';
import { createSequelize } from './db/sequelize.js';
import { DEMO_ADMIN_USERNAME, DEMO_PASSWORD } from './demo.js';
import { answerWorkerScrapes, type ClusterMetrics, clusterWorkerMetrics } from './metrics.js';

const DEMO_SEEDER = '20261121000100-demo-data.ts';
const DATABASE_RETRY_MS = 1000;

/**
 * Libraries that print their own warnings and errors (Sequelize on a failed rollback, a
 * session store's default) write them to the log as JSON lines like everything else, so
 * that nothing, a stack least of all, goes out beside the structured log.
 */
function routeConsoleToLog(logger: Logger): void {
  const write =
    (level: 'warn' | 'error') =>
    (...args: unknown[]): void => {
      const err = args.find((arg) => arg instanceof Error);
      const text = args
        .filter((arg) => !(arg instanceof Error))
        .map((arg) => (typeof arg === 'string' ? arg : inspect(arg)));
      logger[level]({ err, source: 'console' }, text.join(' ') || err?.message || '');
    };
  console.warn = write('warn');
  console.error = write('error');
}

/** Outside production the secret is generated once and kept, so sessions survive restarts. */
function sessionSecret(config: Config): string {
  if (config.sessionSecret) return config.sessionSecret;
  const file = path.join(config.dataDir, 'session-secret');
  if (!fs.existsSync(file)) {
    fs.mkdirSync(config.dataDir, { recursive: true });
    fs.writeFileSync(file, crypto.randomBytes(48).toString('base64url'), { mode: 0o600 });
  }
  return fs.readFileSync(file, 'utf8').trim();
}

/**
 * The embedded database is this process's own: bring its schema up to date, and fill a
 * brand-new one with demo data. Returns whether it seeded.
 */
async function prepareEmbedded(embedded: EmbeddedDatabase, config: Config, logger: Logger): Promise<boolean> {
  const sequelize = createSequelize(embedded.url, { ...config, dbPoolMax: 1, dbPoolMin: 0 }, logger);
  try {
    const applied = await migrate(sequelize);
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    if (!embedded.created) return false;
    await runSeeders(sequelize, [DEMO_SEEDER]);
    logger.info('demo data seeded');
    return true;
  } finally {
    await sequelize.close();
  }
}

/**
 * A database given by DATABASE_URL belongs to its admin, who runs the migrations, and may
 * come up after the app (compose, Kubernetes, systemd start both together). The app serves
 * at once (pages answer 503 until the database answers); this says once what it waits for,
 * then warns if migrations are pending.
 */
async function awaitDatabase(url: string, config: Config, logger: Logger): Promise<void> {
  const sequelize = createSequelize(url, { ...config, dbPoolMax: 1, dbPoolMin: 0 }, logger);
  const server = serverName(parseDatabaseUrl(url));
  let said: string | undefined;
  try {
    for (;;) {
      try {
        const pending = await pendingMigrations(sequelize);
        if (said !== undefined) logger.info({ server }, `PostgreSQL at ${server} answers: serving`);
        if (pending.length > 0) {
          logger.warn({ pending }, `${pending.length} pending migration(s): run npx sequelize-cli db:migrate`);
        }
        return;
      } catch (error) {
        const reason = describeConnectionError(error);
        // Once per distinct reason: a refusal while it boots, then perhaps a wrong password.
        if (reason !== said) {
          logger.warn(
            { server, reason },
            `waiting for PostgreSQL at ${server} (${reason}); pages answer 503 until it answers`,
          );
          said = reason;
        }
        await new Promise((resolve) => setTimeout(resolve, DATABASE_RETRY_MS));
      }
    }
  } finally {
    await sequelize.close();
  }
}

function describeConnectionError(error: unknown): string {
  const original = (error as { original?: unknown }).original ?? error;
  return original instanceof Error ? original.message : String(original);
}

/** What serving the port from one process needs; stop() undoes it. */
interface Serving {
  server: Server;
  db: Database;
  lifecycle: Lifecycle;
}

async function serve(url: string, config: Config, logger: Logger, clusterMetrics?: ClusterMetrics): Promise<Serving> {
  const db = createDatabase(url, config, logger, config.databaseReplicaUrls);
  const lifecycle: Lifecycle = { draining: false };
  const app = createApp({ config, db, logger, sessionSecret: sessionSecret(config), lifecycle, clusterMetrics });
  const server: Server = app.listen(config.port);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
  } catch (error) {
    await db.close();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new StartupError(`port ${config.port} is taken. Stop what uses it, or set PORT.`);
    if (code === 'EACCES')
      throw new StartupError(`port ${config.port} needs privileges this user lacks: set PORT above 1023.`);
    throw error;
  }
  return { server, db, lifecycle };
}

/**
 * What stops the process, as a registry: each start step adds how to undo itself, and the
 * first SIGTERM or SIGINT (or `now`) runs the tasks in reverse order, then exits with the
 * worst of their codes. A signal that arrives while the process is still starting is kept
 * until `started()`: stopping half-started would leave the embedded PostgreSQL behind.
 */
interface Shutdown {
  add(task: () => Promise<number | void>): void;
  started(): void;
  /** Stops now; `reason`: the signal's name, or why this process stops by itself. */
  now(reason: string): void;
  /** Undoes what a failed start did, without exiting. */
  undo(): Promise<void>;
}

function shutdownOnSignals(logger: Logger): Shutdown {
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

function banner(config: Config, embedded: EmbeddedDatabase | undefined, seeded: boolean): void {
  const workers = config.webConcurrency > 1 ? ` with ${config.webConcurrency} worker processes` : '';
  console.log(`\n  Users and posts is running at http://localhost:${config.port}${workers}`);
  if (embedded) {
    console.log(`  Database: embedded PostgreSQL, data in ${embedded.directory}`);
    console.log(
      `  Demo admin: log in as "${DEMO_ADMIN_USERNAME}" with password "${DEMO_PASSWORD}"${seeded ? ' (demo data just created)' : ''}`,
    );
  }
  console.log('  Ctrl-C stops it.\n');
}

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
function runPrimary(url: string, config: Config, logger: Logger, shutdown: Shutdown, afterListening: () => void): void {
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

async function main(config: Config, logger: Logger, shutdown: Shutdown): Promise<void> {
  if (cluster.isWorker) {
    // First: the primary's gathering waits on every connected worker, this one too as it starts.
    const clusterMetrics = clusterWorkerMetrics();
    // The primary prepared the database and passed its URL.
    const serving = await serve(config.databaseUrl!, config, logger, clusterMetrics);
    shutdown.add(() => stop({ ...serving, logger, timeoutMs: config.shutdownTimeoutMs }));
    // The primary gone (killed, not stopped): nobody hands out connections any more.
    process.once('disconnect', () => shutdown.now('primary gone'));
    return;
  }

  let embedded: EmbeddedDatabase | undefined;
  let url = config.databaseUrl;
  let seeded = false;
  if (url === undefined) {
    const started = await startEmbeddedPostgres({
      dataDir: config.dataDir,
      port: config.embeddedDbPort,
      log: (message) => logger.debug({ source: 'postgres' }, message),
    });
    shutdown.add(() => started.stop());
    embedded = started;
    url = embedded.url;
    seeded = await prepareEmbedded(embedded, config, logger);
  } else {
    void awaitDatabase(url, config, logger).catch((error: unknown) =>
      logger.error({ err: error }, 'could not check the database for pending migrations'),
    );
  }

  const ready = (): void => banner(config, embedded, seeded);
  if (config.webConcurrency > 1) {
    runPrimary(url, config, logger, shutdown, ready);
    return;
  }
  const serving = await serve(url, config, logger);
  shutdown.add(() => stop({ ...serving, logger, timeoutMs: config.shutdownTimeoutMs }));
  ready();
}

/**
 * An orderly stop: readiness turns 503 (a load balancer stops sending traffic), no new
 * connections, in-flight requests finish (idle keep-alive sockets close now, busy ones
 * after their response), then the pool closes. Requests still
 * running after the timeout are cut off, and their database sessions ended so that their
 * transactions roll back rather than commit for a client that is gone.
 */
async function stop(options: {
  server: Server;
  db: Database;
  lifecycle: Lifecycle;
  logger: Logger;
  timeoutMs: number;
}): Promise<void> {
  const { server, db, lifecycle, logger } = options;
  lifecycle.draining = true;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), options.timeoutMs);
  });
  if ((await Promise.race([closed, timedOut])) === 'timeout') {
    logger.error({ timeoutMs: options.timeoutMs }, 'in-flight requests did not finish in time: cutting them off');
    server.closeAllConnections();
    await db
      .terminateSessions()
      .catch((error: unknown) => logger.warn({ err: error }, 'could not end database sessions'));
    await closed;
  }
  clearTimeout(timer);
  await db.close();
}

function reportStartFailure(error: unknown): void {
  // A cause the operator can fix is said in a sentence; anything else with its stack.
  // Plain text to stderr, where an operator reads why a start failed.
  if (error instanceof StartupError) process.stderr.write(`Cannot start: ${error.message}\n`);
  else process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
}

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  reportStartFailure(error);
  process.exit(1);
}
const logger = createLogger(config);
routeConsoleToLog(logger);
const shutdown = shutdownOnSignals(logger);
main(config, logger, shutdown).then(
  () => shutdown.started(),
  async (error: unknown) => {
    reportStartFailure(error);
    await shutdown.undo().catch(() => undefined);
    process.exit(1);
  },
);
