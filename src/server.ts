// The process: configuration → database → app → listen, and an orderly stop on signals.
import cluster from 'node:cluster';
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import { createApp, type Lifecycle } from './app.js';
import { type Config, loadConfig } from './config.js';
import { createDatabase, type Database } from './db/database.js';
import { type EmbeddedDatabase, startEmbeddedPostgres } from './db/embedded.js';
import { migrate, pendingMigrations, runSeeders } from './db/migrator.js';
import { createSequelize } from './db/sequelize.js';
import { DEMO_ADMIN_USERNAME, DEMO_PASSWORD } from './demo.js';

const DEMO_SEEDER = '20261121000100-demo-data.ts';

/** JSON lines; in development, readable ones when pino-pretty (a dev dependency) is there. */
function createLogger(config: Config): Logger {
  let pretty = false;
  if (config.env === 'development') {
    try {
      require.resolve('pino-pretty');
      pretty = true;
    } catch {
      // A production install without dev dependencies: JSON it is.
    }
  }
  return pino({
    level: config.logLevel,
    transport: pretty
      ? { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' } }
      : undefined,
  });
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
 * brand-new one with demo data. A database given by DATABASE_URL belongs to its admin,
 * who runs the migrations; the app only warns when some are pending.
 */
async function prepareSchema(
  url: string,
  config: Config,
  logger: Logger,
  embedded?: EmbeddedDatabase,
): Promise<boolean> {
  const sequelize = createSequelize(url, { ...config, dbPoolMax: 1, dbPoolMin: 0 }, logger);
  try {
    if (!embedded) {
      const pending = await pendingMigrations(sequelize);
      if (pending.length > 0) {
        logger.warn({ pending }, `${pending.length} pending migration(s): run npx sequelize-cli db:migrate`);
      }
      return false;
    }
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

/** What serving the port from one process needs; stop() undoes it. */
interface Serving {
  server: Server;
  db: Database;
  lifecycle: Lifecycle;
}

async function serve(url: string, config: Config, logger: Logger): Promise<Serving> {
  const db = createDatabase(url, config, logger, config.databaseReplicaUrls);
  const lifecycle: Lifecycle = { draining: false };
  const app = createApp({ config, db, logger, sessionSecret: sessionSecret(config), lifecycle });
  const server: Server = app.listen(config.port);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  return { server, db, lifecycle };
}

/**
 * Runs `stop` once, on the first SIGTERM or SIGINT or call of the function returned, then
 * exits with its outcome.
 */
function onShutdown(logger: Logger, stop: () => Promise<number>): (signal: string) => void {
  let stopping = false;
  // `signal`: the signal's name, or why this process stops by itself.
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining in-flight requests');
    void stop().then(
      (code) => process.exit(code),
      (error: unknown) => {
        logger.fatal({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  return shutdown;
}

function banner(config: Config, embedded: EmbeddedDatabase | undefined, seeded: boolean): void {
  const workers = config.webConcurrency > 1 ? ` with ${config.webConcurrency} worker processes` : '';
  console.log(`\n  Users and posts is running at http://localhost:${config.port}${workers}`);
  if (embedded) {
    console.log(`  Database: embedded PostgreSQL, data in ${path.join(config.dataDir, 'postgres')}`);
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
function runPrimary(
  url: string,
  config: Config,
  logger: Logger,
  embedded: EmbeddedDatabase | undefined,
  seeded: boolean,
): void {
  // Made once here, so the workers all read the same one (outside production).
  sessionSecret(config);
  let stopping = false;
  let failed = false;
  const shutdown = onShutdown(logger, async () => {
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
    await embedded?.stop();
    logger.info({ workers: codes.length }, 'stopped');
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
      shutdown('workers keep dying');
      return;
    }
    logger.error({ worker: worker.process.pid, code, signal }, 'a worker died: starting another');
    setTimeout(fork, RESTART_DELAY_MS).unref();
  });

  let listening = 0;
  cluster.on('listening', () => {
    if (++listening === config.webConcurrency) banner(config, embedded, seeded);
  });
  for (let i = 0; i < config.webConcurrency; i++) fork();
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config);

  if (cluster.isWorker) {
    // The primary prepared the database and passed its URL.
    const serving = await serve(config.databaseUrl!, config, logger);
    const shutdown = onShutdown(logger, async () => {
      await stop({ ...serving, embedded: undefined, logger, timeoutMs: config.shutdownTimeoutMs });
      return 0;
    });
    // The primary gone (killed, not stopped): nobody hands out connections any more.
    process.once('disconnect', () => shutdown('primary gone'));
    return;
  }

  let embedded: EmbeddedDatabase | undefined;
  let url = config.databaseUrl;
  if (url === undefined) {
    embedded = await startEmbeddedPostgres({
      dataDir: config.dataDir,
      port: config.embeddedDbPort,
      log: (message) => logger.debug({ source: 'postgres' }, message),
    });
    url = embedded.url;
  }
  const seeded = await prepareSchema(url, config, logger, embedded);

  if (config.webConcurrency > 1) {
    runPrimary(url, config, logger, embedded, seeded);
    return;
  }
  const serving = await serve(url, config, logger);
  banner(config, embedded, seeded);
  onShutdown(logger, async () => {
    await stop({ ...serving, embedded, logger, timeoutMs: config.shutdownTimeoutMs });
    return 0;
  });
}

/**
 * An orderly stop: readiness turns 503 (a load balancer stops sending traffic), no new
 * connections, in-flight requests finish (idle keep-alive sockets close now, busy ones
 * after their response), then the pool and the embedded PostgreSQL stop. Requests still
 * running after the timeout are cut off, and their database sessions ended so that their
 * transactions roll back rather than commit for a client that is gone.
 */
async function stop(options: {
  server: Server;
  db: Database;
  embedded: EmbeddedDatabase | undefined;
  lifecycle: Lifecycle;
  logger: Logger;
  timeoutMs: number;
}): Promise<void> {
  const { server, db, embedded, lifecycle, logger } = options;
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
  await embedded?.stop();
  logger.info('stopped');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
