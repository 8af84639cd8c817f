import type { Request, RequestHandler } from 'express';
import client from 'prom-client';
import type { Database } from './db/database.js';

interface PoolStats {
  size: number;
  available: number;
  using: number;
  waiting: number;
}

/** Sequelize's pool, or its read and write pools when replicas are configured. */
function sequelizePools(db: Database): Record<string, PoolStats> {
  const pool = (
    db.sequelize.connectionManager as unknown as { pool: PoolStats | { read: PoolStats; write: PoolStats } }
  ).pool;
  return 'read' in pool ? { read: pool.read, write: pool.write } : { main: pool };
}

/** The route a request matched, as a low-cardinality label ("/posts/:id", not "/posts/42"). */
function routeOf(req: Request): string {
  const route = req.route as { path?: unknown } | undefined;
  if (typeof route?.path === 'string') return req.baseUrl + route.path;
  return req.originalUrl.startsWith('/static/') ? '/static' : 'unmatched';
}

/**
 * Prometheus metrics of one process: request durations by route and status, the database
 * pools (size, idle, in use, waiting), and database errors. Each process has its own
 * registry; Prometheus scrapes and sums them.
 */
export function createMetrics(db: Database, options: { defaultMetrics: boolean }) {
  const registry = new client.Registry();
  if (options.defaultMetrics) client.collectDefaultMetrics({ register: registry });

  const requestDuration = new client.Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer HTTP requests, by method, route and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const databaseErrors = new client.Counter({
    name: 'db_errors_total',
    help: 'Requests that failed on a database error, by kind (unavailable, other).',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const searchTimeouts = new client.Counter({
    name: 'search_timeouts_total',
    help: 'Post searches cut short by their statement timeout (SEARCH_TIMEOUT_MS).',
    registers: [registry],
  });
  new client.Gauge({
    name: 'db_pool_connections',
    help: 'Database connections by pool and state (size, idle, in_use, waiting requests).',
    labelNames: ['pool', 'state'] as const,
    registers: [registry],
    collect() {
      for (const [name, pool] of Object.entries(sequelizePools(db))) {
        this.set({ pool: name, state: 'size' }, pool.size);
        this.set({ pool: name, state: 'idle' }, pool.available);
        this.set({ pool: name, state: 'in_use' }, pool.using);
        this.set({ pool: name, state: 'waiting' }, pool.waiting);
      }
      const sessions = db.sessionPool;
      this.set({ pool: 'sessions', state: 'size' }, sessions.totalCount);
      this.set({ pool: 'sessions', state: 'idle' }, sessions.idleCount);
      this.set({ pool: 'sessions', state: 'in_use' }, sessions.totalCount - sessions.idleCount);
      this.set({ pool: 'sessions', state: 'waiting' }, sessions.waitingCount);
    },
  });

  const timeRequests: RequestHandler = (req, res, next) => {
    const end = requestDuration.startTimer();
    res.once('finish', () => end({ method: req.method, route: routeOf(req), status: String(res.statusCode) }));
    next();
  };

  return {
    registry,
    timeRequests,
    countDatabaseError: (kind: 'unavailable' | 'other') => databaseErrors.inc({ kind }),
    countSearchTimeout: () => searchTimeouts.inc(),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
