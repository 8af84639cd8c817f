// The HTTP side of a process: the app listening on its port, and its orderly stop.
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { createApp, type Lifecycle } from '../app.js';
import type { Config } from '../config.js';
import { createDatabase, type Database } from '../db/database.js';
import { StartupError } from '../errors.js';
import { type MailSender, startMailSender } from '../mail/sender.js';
import { createMailTransport } from '../mail/transport.js';
import type { ClusterMetrics } from '../observability/metrics.js';
import { sessionSecret } from './local-install.js';

/** What serving the port from one process needs; stop() undoes it. */
export interface Serving {
  server: Server;
  db: Database;
  lifecycle: Lifecycle;
  /** Delivers the outbox (every process does; each mail goes out once). */
  mail?: MailSender;
}

export async function serve(
  url: string,
  config: Config,
  logger: Logger,
  clusterMetrics?: ClusterMetrics,
): Promise<Serving> {
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
  const transport = createMailTransport(config.mail, config.mailFrom);
  const mail = transport && startMailSender({ sequelize: db.sequelize, transport, logger, pollMs: config.mailPollMs });
  return { server, db, lifecycle, mail };
}

/**
 * An orderly stop: readiness turns 503 (a load balancer stops sending traffic), no new
 * connections, in-flight requests finish (idle keep-alive sockets close now, busy ones
 * after their response), then the pool closes. Requests still
 * running after the timeout are cut off, and their database sessions ended so that their
 * transactions roll back rather than commit for a client that is gone.
 */
export async function stop(options: Serving & { logger: Logger; timeoutMs: number }): Promise<void> {
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
  // What handlers left to do after their responses (a reset link to issue) ends first.
  await Promise.all([...(lifecycle.background ?? [])]);
  // The mail in hand is finished (or left due for the next start), then the pool closes.
  await options.mail?.stop();
  await db.close();
}
