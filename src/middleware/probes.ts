import type { RequestHandler, Response } from 'express';
import onHeaders from 'on-headers';
import type { Database } from '../db/database.js';
import type { Metrics } from '../observability/metrics.js';

/** What the process tells the app about its own life: set when shutdown begins. */
export interface Lifecycle {
  draining: boolean;
  /** Work that handlers left to run after their response (see `afterResponse`): a stop waits for it. */
  background?: Set<Promise<unknown>>;
}

/**
 * Runs `task` once the response has been sent, so that its cost cannot show in the
 * response's timing; an orderly stop waits for it before the pool closes.
 */
export function afterResponse(lifecycle: Lifecycle) {
  const background = (lifecycle.background ??= new Set());
  return (res: Response, task: () => Promise<unknown>): void => {
    res.once('close', () => {
      // A task logs its own failure; here it only has to end.
      const running: Promise<unknown> = task()
        .catch(() => undefined)
        .finally(() => background.delete(running));
      background.add(running);
    });
  };
}

export type AfterResponse = ReturnType<typeof afterResponse>;

const READY_TIMEOUT_MS = 1000;

/** Liveness: the process runs; no database call. */
export const healthz: RequestHandler = (_req, res) => {
  res.type('text').send('ok');
};

/**
 * While draining, every response closes its connection, also one whose request was
 * already in flight when the drain began: decided as its headers go out. Keep-alive
 * clients then reconnect to another process instead of waiting on this one.
 */
export function closeConnectionsWhileDraining(lifecycle: Lifecycle): RequestHandler {
  return (_req, res, next) => {
    onHeaders(res, () => {
      if (lifecycle.draining) res.setHeader('Connection', 'close');
    });
    next();
  };
}

/** Readiness: 200 when the database answers within a second; 503 when not, or draining. */
export function readyz(db: Database, lifecycle: Lifecycle): RequestHandler {
  return async (_req, res) => {
    if (lifecycle.draining) {
      res.status(503).set('Retry-After', '5').type('text').send('shutting down');
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error('readiness check timed out')), READY_TIMEOUT_MS);
    });
    try {
      await Promise.race([db.sequelize.query('SELECT 1'), timeout]);
      // A standby down is reported, not fatal: reads then go to the primary.
      const replicas = await db.checkReplicas();
      res.type('text').send(['ready', ...replicas.map((r) => `replica ${r.name}: ${r.up ? 'up' : 'down'}`)].join('\n'));
    } catch {
      res.status(503).set('Retry-After', '5').type('text').send('database unavailable');
    } finally {
      clearTimeout(timer);
    }
  };
}

/** Prometheus text, behind a bearer token when METRICS_TOKEN is set. */
export function metricsEndpoint(metrics: Metrics, token: string | undefined): RequestHandler {
  return async (req, res) => {
    if (token && req.get('authorization') !== `Bearer ${token}`) {
      res.status(401).set('WWW-Authenticate', 'Bearer').type('text').send('unauthorized');
      return;
    }
    let text: string;
    try {
      text = await metrics.scrape();
    } catch (error) {
      // A worker that didn't answer the primary in time: no sum rather than a partial one.
      const reason = error instanceof Error ? error.message : String(error);
      res.status(503).type('text').send(`metrics unavailable: ${reason}`);
      return;
    }
    res.type(metrics.registry.contentType).send(text);
  };
}
