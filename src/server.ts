// The process: configuration → database → app → listen (or the primary of WEB_CONCURRENCY
// workers), and an orderly stop on signals. Each piece lives in src/process/.
import cluster from 'node:cluster';
import type { Logger } from 'pino';
import { type Config, loadConfig } from './config.js';
import type { EmbeddedDatabase } from './db/embedded.js';
import { DEMO_ADMIN_USERNAME, DEMO_PASSWORD } from './db/demo.js';
import { StartupError } from './errors.js';
import { createLogger, routeConsoleToLog } from './observability/logging.js';
import { clusterWorkerMetrics } from './observability/metrics.js';
import { runPrimary } from './process/cluster.js';
import { awaitDatabase } from './process/database-wait.js';
import { serve, stop } from './process/http-server.js';
import { startLocalDatabase } from './process/local-install.js';
import { type Shutdown, shutdownOnSignals } from './process/shutdown.js';

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

  let url = config.databaseUrl;
  let local: Awaited<ReturnType<typeof startLocalDatabase>> | undefined;
  if (url === undefined) {
    local = await startLocalDatabase(config, logger, shutdown);
    url = local.embedded.url;
  } else {
    void awaitDatabase(url, config, logger).catch((error: unknown) =>
      logger.error({ err: error }, 'could not check the database for pending migrations'),
    );
  }

  const ready = (): void => banner(config, local?.embedded, local?.seeded ?? false);
  if (config.webConcurrency > 1) {
    runPrimary(url, config, logger, shutdown, ready);
    return;
  }
  const serving = await serve(url, config, logger);
  shutdown.add(() => stop({ ...serving, logger, timeoutMs: config.shutdownTimeoutMs }));
  ready();
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
  if (config.mail.kind === 'folder')
    console.log(`  Mail: written to ${config.mail.dir}, one .eml and one .txt file per mail`);
  if (config.mail.kind === 'off') console.log('  Mail: turned off (MAIL_DISABLED): mails wait in the outbox, unsent');
  console.log('  Ctrl-C stops it.\n');
}

function reportStartFailure(error: unknown): void {
  // Plain text to stderr, where an operator reads why a start failed: a cause the
  // operator can fix in a sentence, anything else with its stack.
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
