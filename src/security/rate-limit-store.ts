import type { ClientRateLimitInfo, Options, Store } from 'express-rate-limit';
import { QueryTypes, type Sequelize } from 'sequelize';

const PRUNE_EVERY_MS = 60_000;

/**
 * express-rate-limit's counters in the `rate_limits` table, so that every app process
 * (and machine) counts against the same limit. One statement per hit: a new window
 * starts when the previous one has ended.
 */
export class PostgresRateLimitStore implements Store {
  readonly localKeys = false;
  private windowMs = 60_000;
  private lastPrunedAt = 0;

  constructor(
    private readonly sequelize: Sequelize,
    readonly prefix: string,
  ) {}

  init(options: Options): void {
    this.windowMs = options.windowMs;
  }

  async increment(key: string): Promise<ClientRateLimitInfo> {
    this.pruneNowAndThen();
    const [row] = await this.sequelize.query<{ hits: number; reset_at: Date }>(
      `INSERT INTO rate_limits AS r (key, hits, reset_at)
       VALUES ($1, 1, now() + $2 * interval '1 millisecond')
       ON CONFLICT (key) DO UPDATE SET
         hits = CASE WHEN r.reset_at <= now() THEN 1 ELSE r.hits + 1 END,
         reset_at = CASE WHEN r.reset_at <= now() THEN excluded.reset_at ELSE r.reset_at END
       RETURNING hits, reset_at`,
      { bind: [this.prefix + key, this.windowMs], type: QueryTypes.SELECT },
    );
    if (!row) throw new Error('rate limit upsert returned no row');
    return { totalHits: row.hits, resetTime: row.reset_at };
  }

  async decrement(key: string): Promise<void> {
    await this.sequelize.query(
      'UPDATE rate_limits SET hits = greatest(hits - 1, 0) WHERE key = $1 AND reset_at > now()',
      { bind: [this.prefix + key] },
    );
  }

  async resetKey(key: string): Promise<void> {
    await this.sequelize.query('DELETE FROM rate_limits WHERE key = $1', { bind: [this.prefix + key] });
  }

  /** Drops ended windows, at most once a minute per process, without delaying the request. */
  private pruneNowAndThen(): void {
    const now = Date.now();
    if (now - this.lastPrunedAt < PRUNE_EVERY_MS) return;
    this.lastPrunedAt = now;
    this.sequelize.query('DELETE FROM rate_limits WHERE reset_at < now()').catch(() => {
      // A failed clean-up is retried a minute later; the counters stay correct meanwhile.
    });
  }
}
