import path from 'node:path';
import { databaseUrlProblem } from './db/connection.js';
import { StartupError } from './errors.js';
import type { MailSetting } from './mail/transport.js';

export type NodeEnv = 'development' | 'production' | 'test';

export interface Config {
  /** Selects production behaviour: secure cookies, view cache, no stack traces. */
  readonly env: NodeEnv;
  /** TCP port the HTTP server listens on. */
  readonly port: number;
  /** PostgreSQL to use, TLS as its `?sslmode=` says (docs/configuration.md); absent: an embedded server under `dataDir`. */
  readonly databaseUrl: string | undefined;
  /** Port of the embedded PostgreSQL (loopback only). */
  readonly embeddedDbPort: number;
  /** Largest number of pooled database connections per process. */
  readonly dbPoolMax: number;
  /** Connections the pool keeps open when idle. */
  readonly dbPoolMin: number;
  /** How long a request waits for a pooled connection before it fails with 503. */
  readonly dbAcquireTimeoutMs: number;
  /** How long opening a new database connection may take before it fails with 503. */
  readonly dbConnectTimeoutMs: number;
  /** Server-side limit for one SQL statement. */
  readonly dbStatementTimeoutMs: number;
  /** Queries slower than this are logged as warnings. */
  readonly dbSlowQueryMs: number;
  /** Server-side limit for the statements of one post search: past it, a 503 page asks to retry. */
  readonly searchTimeoutMs: number;
  /** On SIGTERM/SIGINT, how long in-flight requests may take before they are cut off. */
  readonly shutdownTimeoutMs: number;
  /** When set, GET /metrics requires `Authorization: Bearer <this>`. */
  readonly metricsToken: string | undefined;
  /** A session unused this long ends (minutes). */
  readonly sessionIdleTimeoutMin: number;
  /** A session ends this long after its login, however active (minutes). */
  readonly sessionAbsoluteTimeoutMin: number;
  /** Login attempts one IP address may make per 15 minutes. */
  readonly loginLimitPerIp: number;
  /** Failed logins one account may take per 15 minutes, from anywhere. */
  readonly loginLimitPerAccount: number;
  /** Sign-ups one IP address may make per hour. */
  readonly signupLimitPerIp: number;
  /**
   * How long a page rendered for an anonymous visitor (no cookie) is reused for the next
   * ones, per process (ms); 0 renders every request.
   */
  readonly pageCacheMs: number;
  /** Streaming standbys that serve reads (DATABASE_REPLICA_URLS, comma-separated); empty: all on the primary. */
  readonly databaseReplicaUrls: string[];
  /** After a person's last write, their reads stay on the primary this long (ms), past any replica lag. */
  readonly replicaReadAfterWriteMs: number;
  /** Worker processes serving the port (Node's cluster); 1 serves from this process alone. */
  readonly webConcurrency: number;
  /** Signs the session cookie; undefined only outside production (then kept under dataDir). */
  readonly sessionSecret: string | undefined;
  /** pino level: fatal, error, warn, info, debug, trace or silent. */
  readonly logLevel: string;
  /** The site's public address (https://example.com), for absolute links in feeds; else taken from each request. */
  readonly publicUrl: string | undefined;
  /** Proxy hops in front of the app (X-Forwarded-*); 0 when clients connect directly. */
  readonly trustProxy: number;
  /** Local state of a development install: embedded PostgreSQL, generated session secret. */
  readonly dataDir: string;
  /** Where mails go: SMTP_URL; else MAIL_DIR (outside production, <dataDir>/mail by default); else nowhere (MAIL_DISABLED). */
  readonly mail: MailSetting;
  /** The From of every mail. */
  readonly mailFrom: string;
  /** How often each process looks for mails to send (ms). */
  readonly mailPollMs: number;
  /** "Forgot password" requests one IP address may make per hour. */
  readonly resetLimitPerIp: number;
  /** Reset links and confirmation mails one address may be sent per hour. */
  readonly mailLimitPerAddress: number;
  /** Comments one account may post per 10 minutes. */
  readonly commentLimitPerAccount: number;
}

/** What createApp needs of the configuration. */
export type AppConfig = Pick<
  Config,
  | 'env'
  | 'metricsToken'
  | 'publicUrl'
  | 'trustProxy'
  | 'sessionIdleTimeoutMin'
  | 'sessionAbsoluteTimeoutMin'
  | 'loginLimitPerIp'
  | 'loginLimitPerAccount'
  | 'signupLimitPerIp'
  | 'pageCacheMs'
  | 'databaseReplicaUrls'
  | 'replicaReadAfterWriteMs'
  | 'searchTimeoutMs'
  | 'resetLimitPerIp'
  | 'mailLimitPerAddress'
  | 'commentLimitPerAccount'
>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * Reads and validates the environment once. Throws one error naming every bad key,
 * so a misconfigured deployment fails at start with the whole list.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];

  const integer = (key: string, fallback: number, min: number, max: number): number => {
    const raw = env[key];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < min || value > max) {
      problems.push(`${key} must be an integer from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return value;
  };

  const nodeEnv = env.NODE_ENV ?? 'development';
  if (nodeEnv !== 'development' && nodeEnv !== 'production' && nodeEnv !== 'test') {
    problems.push(`NODE_ENV must be development, production or test (got "${nodeEnv}")`);
  }

  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push('DATABASE_URL must be a postgres:// or postgresql:// URL');
  } else if (databaseUrl !== undefined) {
    // A mistyped sslmode must stop the start, not quietly change how the app connects.
    const problem = databaseUrlProblem(databaseUrl, 'DATABASE_URL');
    if (problem !== undefined) problems.push(problem);
  }

  const databaseReplicaUrls = (env.DATABASE_REPLICA_URLS ?? '')
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url !== '');
  if (databaseReplicaUrls.some((url) => !/^postgres(ql)?:\/\//.test(url))) {
    problems.push('DATABASE_REPLICA_URLS must be postgres:// URLs separated by commas');
  } else {
    for (const url of databaseReplicaUrls) {
      const problem = databaseUrlProblem(url, 'DATABASE_REPLICA_URLS');
      if (problem !== undefined) problems.push(problem);
    }
  }
  if (databaseReplicaUrls.length > 0 && databaseUrl === undefined) {
    problems.push('DATABASE_REPLICA_URLS needs DATABASE_URL (the primary) too');
  }

  const publicUrl = env.PUBLIC_URL ? env.PUBLIC_URL.replace(/\/+$/, '') : undefined;
  if (publicUrl !== undefined && !/^https?:\/\/[^/?#\s]+$/.test(publicUrl)) {
    problems.push('PUBLIC_URL must be an http(s) origin like https://example.com (no path)');
  }

  const sessionSecret = env.SESSION_SECRET || undefined;
  if (nodeEnv === 'production' && sessionSecret === undefined) {
    problems.push('SESSION_SECRET is required in production');
  } else if (sessionSecret !== undefined && sessionSecret.length < 32) {
    problems.push('SESSION_SECRET must be at least 32 characters');
  }

  const logLevel = env.LOG_LEVEL ?? (nodeEnv === 'test' ? 'silent' : 'info');
  if (!LOG_LEVELS.includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${logLevel}")`);
  }

  const dataDir = path.resolve(env.DATA_DIR || '.data');
  const mail = mailSetting(env, nodeEnv, dataDir, problems);
  if (nodeEnv === 'production' && mail.kind !== 'off' && publicUrl === undefined) {
    problems.push(
      'PUBLIC_URL is required in production to send mails: their links are built from it, never from the Host header of a request',
    );
  }

  const dbPoolMax = integer('DB_POOL_MAX', 10, 1, 1000);
  const dbPoolMin = integer('DB_POOL_MIN', 0, 0, 1000);
  if (dbPoolMin > dbPoolMax) problems.push('DB_POOL_MIN must not exceed DB_POOL_MAX');

  const config: Config = {
    env: nodeEnv as NodeEnv,
    port: integer('PORT', 3000, 0, 65535),
    databaseUrl,
    embeddedDbPort: integer('EMBEDDED_DB_PORT', 54329, 1, 65535),
    dbPoolMax,
    dbPoolMin,
    dbAcquireTimeoutMs: integer('DB_ACQUIRE_TIMEOUT_MS', 5000, 1, 600_000),
    dbConnectTimeoutMs: integer('DB_CONNECT_TIMEOUT_MS', 5000, 1, 600_000),
    dbStatementTimeoutMs: integer('DB_STATEMENT_TIMEOUT_MS', 10_000, 1, 3_600_000),
    dbSlowQueryMs: integer('DB_SLOW_QUERY_MS', 200, 0, 3_600_000),
    searchTimeoutMs: integer('SEARCH_TIMEOUT_MS', 1000, 1, 3_600_000),
    shutdownTimeoutMs: integer('SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    metricsToken: env.METRICS_TOKEN || undefined,
    sessionIdleTimeoutMin: integer('SESSION_IDLE_TIMEOUT_MIN', 7 * 24 * 60, 1, 365 * 24 * 60),
    sessionAbsoluteTimeoutMin: integer('SESSION_ABSOLUTE_TIMEOUT_MIN', 30 * 24 * 60, 1, 365 * 24 * 60),
    loginLimitPerIp: integer('RATE_LIMIT_LOGIN_PER_IP', 30, 1, 1_000_000),
    loginLimitPerAccount: integer('RATE_LIMIT_LOGIN_PER_ACCOUNT', 10, 1, 1_000_000),
    signupLimitPerIp: integer('RATE_LIMIT_SIGNUP_PER_IP', 10, 1, 1_000_000),
    databaseReplicaUrls,
    replicaReadAfterWriteMs: integer('REPLICA_READ_AFTER_WRITE_MS', 10_000, 0, 3_600_000),
    webConcurrency: integer('WEB_CONCURRENCY', 1, 1, 64),
    pageCacheMs: integer('PAGE_CACHE_MS', nodeEnv === 'production' ? 1000 : 0, 0, 60_000),
    sessionSecret,
    logLevel,
    publicUrl,
    trustProxy: integer('TRUST_PROXY', 0, 0, 10),
    dataDir,
    mail,
    mailFrom: env.MAIL_FROM || `Users and posts <no-reply@${publicUrl ? new URL(publicUrl).hostname : 'localhost'}>`,
    mailPollMs: integer('MAIL_POLL_MS', 1000, 10, 600_000),
    resetLimitPerIp: integer('RATE_LIMIT_RESET_PER_IP', 10, 1, 1_000_000),
    mailLimitPerAddress: integer('RATE_LIMIT_MAIL_PER_ADDRESS', 5, 1, 1_000_000),
    commentLimitPerAccount: integer('RATE_LIMIT_COMMENTS_PER_ACCOUNT', 20, 1, 1_000_000),
  };

  if (problems.length > 0) {
    throw new StartupError(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
  return Object.freeze(config);
}

/**
 * SMTP_URL (smtp:// or smtps://) sends through that server; MAIL_DIR writes each mail to a
 * file there; MAIL_DISABLED=true keeps mails in the outbox, unsent. Outside production the
 * default is the folder <dataDir>/mail, so that every flow works out of the box; production
 * must choose.
 */
function mailSetting(env: NodeJS.ProcessEnv, nodeEnv: string, dataDir: string, problems: string[]): MailSetting {
  const disabled = env.MAIL_DISABLED === 'true';
  if (env.MAIL_DISABLED && !['true', 'false'].includes(env.MAIL_DISABLED)) {
    problems.push(`MAIL_DISABLED must be true or false (got "${env.MAIL_DISABLED}")`);
  }
  if (env.SMTP_URL) {
    if (!/^smtps?:\/\/[^/?#\s]+/.test(env.SMTP_URL)) problems.push('SMTP_URL must be an smtp:// or smtps:// URL');
    if (disabled) problems.push('SMTP_URL and MAIL_DISABLED=true contradict each other: set one');
    return { kind: 'smtp', url: env.SMTP_URL };
  }
  if (disabled) return { kind: 'off' };
  if (env.MAIL_DIR) return { kind: 'folder', dir: path.resolve(env.MAIL_DIR) };
  if (nodeEnv === 'production') {
    problems.push(
      'SMTP_URL is required in production: password resets and address confirmations are sent by mail ' +
        '(or MAIL_DIR to write mails to a folder, or MAIL_DISABLED=true to run without mail)',
    );
    return { kind: 'off' };
  }
  return { kind: 'folder', dir: path.join(dataDir, 'mail') };
}
