import { Op, type Sequelize } from 'sequelize';
import type { Logger } from 'pino';
import { modelsOf } from '../models/index.js';
import type { MailTransport } from './transport.js';

// After a failed attempt a mail waits 1 s, 2 s, 4 s, … up to 5 minutes, and is never dropped.
const FIRST_RETRY_MS = 1000;
const LONGEST_RETRY_MS = 5 * 60_000;

export const retryDelayMs = (attempts: number): number =>
  Math.min(LONGEST_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, attempts - 1));

// The row stays locked, its transaction open and idle, while the mail server is talked to.
// PostgreSQL ends a session idle in a transaction after idle_in_transaction_session_timeout
// (10 s at the least, src/db/sequelize.ts): an attempt that outlived it would be neither
// recorded nor put off, and the same mail, first in line, tried again at every poll,
// holding up every mail behind it. One attempt gets less time than that.
export const SEND_DEADLINE_MS = 8000;

/** `work`, or a failure once `ms` have passed (the work itself may still finish, unheeded). */
function withDeadline(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from the mail server within ${ms / 1000} s`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

export interface MailSender {
  /** Delivers every mail that is due now; how many it tried. */
  deliverDue(): Promise<number>;
  /** Ends the loop once the mail in hand is done. */
  stop(): Promise<void>;
}

/**
 * Delivers the outbox from every app process. Each mail is taken in a transaction that
 * locks its row (`FOR UPDATE SKIP LOCKED`: another process takes the next one), sent, and
 * marked sent (its body, which may hold a link, cleared) or given its next attempt, in the
 * same transaction. A crash before the commit leaves the mail due: it is sent at least once,
 * and its Message-ID lets a mail client merge a repeat.
 */
export function startMailSender(deps: {
  sequelize: Sequelize;
  transport: MailTransport;
  logger: Logger;
  pollMs: number;
}): MailSender {
  const { sequelize, transport, logger } = deps;
  const { OutboxMail } = modelsOf(sequelize);
  let stopped = false;
  let wake: (() => void) | undefined;
  let databaseDown = false;

  /** One due mail, delivered or rescheduled; false when none is due. */
  const deliverOne = (): Promise<boolean> =>
    sequelize.transaction(async (transaction) => {
      const mail = await OutboxMail.findOne({
        where: { sentAt: null, nextAttemptAt: { [Op.lte]: new Date() } },
        order: [
          ['nextAttemptAt', 'ASC'],
          ['id', 'ASC'],
        ],
        lock: transaction.LOCK.UPDATE,
        skipLocked: true,
        transaction,
      });
      if (!mail) return false;
      const attempts = mail.attempts + 1;
      const log = { mailId: mail.id, kind: mail.kind, attempts };
      try {
        await withDeadline(
          transport.send({ id: mail.id, to: mail.recipient, subject: mail.subject, text: mail.body ?? '' }),
          SEND_DEADLINE_MS,
        );
      } catch (error) {
        const nextAttemptAt = new Date(Date.now() + retryDelayMs(attempts));
        const lastError = (error instanceof Error ? error.message : String(error)).slice(0, 500);
        await mail.update({ attempts, nextAttemptAt, lastError }, { transaction });
        logger.warn({ ...log, err: error, nextAttemptAt }, 'mail not delivered: will try again');
        return true;
      }
      await mail.update({ attempts, sentAt: new Date(), body: null, lastError: null }, { transaction });
      logger.info(log, 'mail sent');
      return true;
    });

  async function deliverDue(): Promise<number> {
    let tried = 0;
    while (!stopped && (await deliverOne())) tried++;
    return tried;
  }

  const loop = (async () => {
    while (!stopped) {
      try {
        await deliverDue();
        if (databaseDown) logger.info('mail sender: the database answers again');
        databaseDown = false;
      } catch (error) {
        // The database is down or the pool busy: the mails wait in the outbox.
        if (!databaseDown) logger.warn({ err: error }, 'mail sender: cannot read the outbox, trying again');
        databaseDown = true;
      }
      if (stopped) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, deps.pollMs).unref();
      });
    }
  })();

  return {
    deliverDue,
    async stop() {
      stopped = true;
      wake?.();
      await loop;
      transport.close();
    },
  };
}
