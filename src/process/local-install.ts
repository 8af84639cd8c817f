// What a development install keeps for itself under DATA_DIR: the embedded PostgreSQL
// (migrated on every start, seeded with demo data on the first) and the generated
// session secret. A deployment with DATABASE_URL and SESSION_SECRET uses none of it.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { type EmbeddedDatabase, startEmbeddedPostgres } from '../db/embedded.js';
import { migrate, runSeeders } from '../db/migrator.js';
import { createSequelize } from '../db/sequelize.js';
import type { Shutdown } from './shutdown.js';

const DEMO_SEEDER = '20261121000100-demo-data.ts';

/** Outside production the secret is generated once and kept, so sessions survive restarts. */
export function sessionSecret(config: Config): string {
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
 * Starts the embedded PostgreSQL (stopped by `shutdown`), brings its schema up to date and
 * seeds a brand-new one. Returns it, and whether demo data was just created.
 */
export async function startLocalDatabase(
  config: Config,
  logger: Logger,
  shutdown: Shutdown,
): Promise<{ embedded: EmbeddedDatabase; seeded: boolean }> {
  const embedded = await startEmbeddedPostgres({
    dataDir: config.dataDir,
    port: config.embeddedDbPort,
    log: (message) => logger.debug({ source: 'postgres' }, message),
  });
  shutdown.add(() => embedded.stop());
  return { embedded, seeded: await prepareEmbedded(embedded, config, logger) };
}
