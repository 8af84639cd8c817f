import { type Options, Sequelize } from 'sequelize';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { decideTlsBeforeConnect, parseDatabaseUrl, sequelizeConnection } from './connection.js';
import { replicationOf } from './replicas.js';

export type PoolSettings = Pick<
  Config,
  'dbPoolMax' | 'dbPoolMin' | 'dbAcquireTimeoutMs' | 'dbConnectTimeoutMs' | 'dbStatementTimeoutMs' | 'dbSlowQueryMs'
>;

/** How this process's database sessions are named in pg_stat_activity. */
export function applicationName(): string {
  return `users-and-posts:${process.pid}`;
}

/**
 * The one Sequelize instance of a process. Every timeout is bounded so that a request
 * waiting on a missing database fails (and becomes a 503) instead of hanging.
 */
export function createSequelize(
  url: string,
  settings: PoolSettings,
  logger?: Logger,
  replicaUrls: string[] = [],
): Sequelize {
  const dialectOptions = {
    // Names this process's sessions, so that a forced shutdown can end exactly them.
    application_name: applicationName(),
    connectionTimeoutMillis: settings.dbConnectTimeoutMs,
    statement_timeout: settings.dbStatementTimeoutMs,
    // A transaction left open by a crashed request must not hold locks forever.
    idle_in_transaction_session_timeout: Math.max(settings.dbStatementTimeoutMs * 2, 10_000),
    clientMinMessages: 'ignore',
  };
  const primary = sequelizeConnection(parseDatabaseUrl(url));
  // keepDefaultTimezone is read by Sequelize but missing from its Options type.
  const options: Options & { keepDefaultTimezone: boolean } = {
    dialect: 'postgres',
    // Timings are measured only to report slow queries; nothing else is logged.
    benchmark: true,
    logging: (sql: string, ms?: number) => {
      if (logger && ms !== undefined && ms >= settings.dbSlowQueryMs) {
        logger.warn({ durationMs: ms, sql: sql.slice(0, 2000) }, 'slow query');
      }
    },
    pool: {
      max: settings.dbPoolMax,
      min: settings.dbPoolMin,
      acquire: settings.dbAcquireTimeoutMs,
      idle: 10_000,
      evict: 1_000,
    },
    // Host, user… from the URL, never the URL itself: Sequelize would hand its sslmode to pg.
    ...primary,
    dialectOptions: { ...dialectOptions, ...primary.dialectOptions },
    // TLS or plain, decided for each connection (src/db/connection.ts).
    hooks: { beforeConnect: decideTlsBeforeConnect },
    define: { underscored: true },
    // No session state: Sequelize would SET the time zone and client_min_messages on each
    // new connection, which a pooler in transaction mode (PgBouncer) hands to others. Dates
    // travel with their offset anyway, and SQL that needs a zone names it ('UTC').
    keepDefaultTimezone: true,
    // With standbys, reads outside transactions go to them (src/db/replicas.ts).
    replication: replicaUrls.length > 0 ? replicationOf(url, replicaUrls, dialectOptions) : false,
  };
  return new Sequelize(options);
}
