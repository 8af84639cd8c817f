// The process: configuration → database → app → listen, and an orderly stop on signals.
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import { createApp } from './app.js';
import { type Config, loadConfig } from './config.js';
import { createDatabase } from './db/database.js';
import { type EmbeddedDatabase, startEmbeddedPostgres } from './db/embedded.js';
import { migrate, pendingMigrations, runSeeders } from './db/migrator.js';
import { createSequelize } from './db/sequelize.js';
import { DEMO_ADMIN_USERNAME, DEMO_PASSWORD } from './demo.js';

const DEMO_SEEDER = '20261121000100-demo-data.ts';
const SHUTDOWN_TIMEOUT_MS = 10_000;

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

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = pino({ level: config.logLevel });

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

  const db = createDatabase(url, config, logger);
  const app = createApp({ config, db, logger, sessionSecret: sessionSecret(config) });
  const server: Server = app.listen(config.port);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });

  const address = `http://localhost:${config.port}`;
  console.log(`\n  Users and posts is running at ${address}`);
  if (embedded) {
    console.log(`  Database: embedded PostgreSQL, data in ${path.join(config.dataDir, 'postgres')}`);
    console.log(
      `  Demo admin: log in as "${DEMO_ADMIN_USERNAME}" with password "${DEMO_PASSWORD}"${seeded ? ' (demo data just created)' : ''}`,
    );
  }
  console.log('  Ctrl-C stops it.\n');

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const forced = setTimeout(() => {
      logger.error('in-flight requests did not finish in time; closing them');
      server.closeAllConnections();
    }, SHUTDOWN_TIMEOUT_MS);
    forced.unref();
    // Stop accepting, let in-flight requests finish, drop idle keep-alive sockets.
    server.close(() => {
      clearTimeout(forced);
      void (async () => {
        await db.close();
        await embedded?.stop();
        logger.info('stopped');
        process.exit(0);
      })();
    });
    server.closeIdleConnections();
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
