import type { Logger } from 'pino';
import pg from 'pg';
import type { Sequelize } from 'sequelize';
import { initModels } from '../models/index.js';
import { reportPreparedStatementsTo } from './prepared.js';
import { clientConfig, createPool, parseDatabaseUrl } from './connection.js';
import { ReplicaHealth, readsOnPrimary, type ReplicaState } from './replicas.js';
import { applicationName, createSequelize, type PoolSettings } from './sequelize.js';

export interface Database {
  readonly sequelize: Sequelize;
  /** The session store's own small pool (connect-pg-simple needs a pg.Pool). */
  readonly sessionPool: pg.Pool;
  /** The read replicas' health, checked now; empty without replicas. */
  checkReplicas(): Promise<readonly ReplicaState[]>;
  close(): Promise<void>;
  /**
   * Ends this process's sessions on the server, whatever they are doing: their open
   * transactions roll back. For a shutdown whose requests did not finish in time.
   */
  terminateSessions(): Promise<void>;
}

export function createDatabase(
  url: string,
  settings: PoolSettings,
  logger?: Logger,
  replicaUrls: string[] = [],
): Database {
  const target = parseDatabaseUrl(url);
  const sequelize = createSequelize(url, settings, logger, replicaUrls);
  if (logger) reportPreparedStatementsTo(logger);
  initModels(sequelize);

  const replicas = replicaUrls.length > 0 ? new ReplicaHealth(replicaUrls, logger) : undefined;
  if (replicas) {
    // Before each connection is taken from a pool: the primary's, for a request that must
    // read its own writes, or while a standby is down.
    sequelize.addHook('beforePoolAcquire', (options) => {
      if (readsOnPrimary() || !replicas.usable) options.useMaster = true;
    });
  }

  const sessionPool = createPool(target, {
    max: Math.max(2, Math.ceil(settings.dbPoolMax / 4)),
    connectionTimeoutMillis: settings.dbConnectTimeoutMs,
    statement_timeout: settings.dbStatementTimeoutMs,
    application_name: applicationName(),
  });
  // An idle client losing its server emits 'error' on the pool; unhandled, it would
  // crash the process. The next checkout reconnects.
  sessionPool.on('error', (error) => logger?.warn({ err: error }, 'idle session-store connection lost'));

  return {
    sequelize,
    sessionPool,
    checkReplicas: async () => (replicas ? replicas.check() : []),
    async close() {
      replicas?.close();
      await Promise.allSettled([sequelize.close(), sessionPool.end()]);
    },
    async terminateSessions() {
      const client = new pg.Client(
        await clientConfig(target, { connectionTimeoutMillis: settings.dbConnectTimeoutMs }),
      );
      await client.connect();
      try {
        await client.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()',
          [applicationName()],
        );
      } finally {
        await client.end();
      }
    },
  };
}
