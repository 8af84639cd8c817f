import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { parseDatabaseUrl, serverName } from '../db/connection.js';
import { pendingMigrations } from '../db/migrator.js';
import { createSequelize } from '../db/sequelize.js';

const DATABASE_RETRY_MS = 1000;

/**
 * A database given by DATABASE_URL belongs to its admin, who runs the migrations, and may
 * come up after the app (compose, Kubernetes, systemd start both together). The app serves
 * at once (pages answer 503 until the database answers); this says once what it waits for,
 * then warns if migrations are pending.
 */
export async function awaitDatabase(url: string, config: Config, logger: Logger): Promise<void> {
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
