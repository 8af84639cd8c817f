import { DatabaseError, type Sequelize, type Transaction } from 'sequelize';

// serialization_failure and deadlock_detected: PostgreSQL aborted the transaction before
// it could commit, so running it again cannot apply anything twice.
const RETRYABLE = new Set(['40001', '40P01']);
const ATTEMPTS = 4;
const BASE_DELAY_MS = 15;

export function isRetryable(error: unknown): boolean {
  const code = error instanceof DatabaseError ? (error.parent as { code?: string } | undefined)?.code : undefined;
  return code !== undefined && RETRYABLE.has(code);
}

/**
 * A managed transaction, run again (a bounded number of times, with jittered exponential
 * backoff) when PostgreSQL aborts it for a serialization failure or a deadlock. Any other
 * error, including a connection lost during COMMIT, when the commit may have happened, is
 * never retried.
 */
export async function inTransaction<T>(
  sequelize: Sequelize,
  work: (transaction: Transaction) => Promise<T>,
  options: { attempts?: number; baseDelayMs?: number } = {},
): Promise<T> {
  const attempts = options.attempts ?? ATTEMPTS;
  const baseDelayMs = options.baseDelayMs ?? BASE_DELAY_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      return await sequelize.transaction(work);
    } catch (error) {
      if (attempt >= attempts || !isRetryable(error)) throw error;
      const delay = baseDelayMs * 2 ** (attempt - 1) * (0.5 + Math.random());
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
