import { createHash, randomBytes } from 'node:crypto';
import type { Transaction } from 'sequelize';
import { AppError } from '../errors.js';
import type { AccountToken, TokenPurpose } from '../models/account-token.model.js';
import type { Models } from '../models/index.js';

export const TOKEN_LIFETIME_MS: Record<TokenPurpose, number> = {
  password_reset: 60 * 60_000,
  confirm_email: 24 * 60 * 60_000,
};

/** 32 random bytes, as they go in a link: 43 characters of base64url. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** Only this is stored: whoever reads the table cannot use a link. */
export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

/** A link that cannot be used: unknown or altered (404), or already used or expired (410). */
export class UnusableLinkError extends AppError {
  constructor(readonly reason: 'unknown' | 'used' | 'expired') {
    super(
      reason === 'unknown'
        ? 'This link is not one we sent, or it was cut short.'
        : reason === 'used'
          ? 'This link was used already: each link works once.'
          : 'This link has expired.',
      reason === 'unknown' ? 404 : 410,
    );
  }
}

/** A new single-use token for `userId`, stored hashed; the token itself goes only in the mail. */
export async function issueToken(
  models: Pick<Models, 'AccountToken'>,
  grant: { userId: number; purpose: TokenPurpose; email?: string },
  transaction: Transaction,
): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  await models.AccountToken.create(
    {
      userId: grant.userId,
      purpose: grant.purpose,
      tokenHash: hashToken(token),
      email: grant.email ?? null,
      expiresAt: new Date(Date.now() + TOKEN_LIFETIME_MS[grant.purpose]),
    },
    { transaction },
  );
  return token;
}

/**
 * The token's row if it can be used now, locked for the transaction when one is given
 * (two requests with one link: the second waits, then finds it used); else the reason why not.
 */
export async function usableToken(
  models: Pick<Models, 'AccountToken'>,
  token: string,
  purpose: TokenPurpose,
  transaction?: Transaction,
): Promise<AccountToken> {
  const row = TOKEN_PATTERN.test(token)
    ? await models.AccountToken.findOne({
        where: { tokenHash: hashToken(token), purpose },
        transaction,
        lock: transaction ? transaction.LOCK.UPDATE : undefined,
      })
    : null;
  if (!row) throw new UnusableLinkError('unknown');
  if (row.usedAt) throw new UnusableLinkError('used');
  if (row.expiresAt.getTime() <= Date.now()) throw new UnusableLinkError('expired');
  return row;
}

/** Every open token of this purpose for the account, used up (one reset ends the other links). */
export async function useAllTokens(
  models: Pick<Models, 'AccountToken'>,
  userId: number,
  purpose: TokenPurpose,
  transaction: Transaction,
): Promise<void> {
  await models.AccountToken.update({ usedAt: new Date() }, { where: { userId, purpose, usedAt: null }, transaction });
}
