import {
  type FindAttributeOptions,
  literal,
  Op,
  QueryTypes,
  type Sequelize,
  type Transaction,
  type WhereOptions,
} from 'sequelize';
import { inTransaction } from '../db/transaction.js';
import { AppError, ConflictError, FieldError, ForbiddenError, NotFoundError } from '../errors.js';
import { modelsOf, type User } from '../models/index.js';
import { PROFILE_LINKS, type Role } from '../models/fields.js';
import type { Profile } from '../models/user.model.js';
import { type Actor, can } from './policies.js';
import { translateUniqueViolation } from './db-errors.js';
import { deleteCommentsBy } from './comments.service.js';
import { containsPattern, keysetPage, offsetFor, PAGE_FETCH, type Page, type Position } from './pagination.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { mails, type MailMessage } from '../rendering/mails.js';
import { paths } from '../paths.js';
import { issueToken, UnusableLinkError, usableToken, useAllTokens } from './account-tokens.js';
import type { TokenPurpose } from '../models/account-token.model.js';
import { passwordProblem } from '../security/password-policy.js';

export interface SignupInput {
  username: string;
  email: string;
  password: string;
  displayName?: string;
}

export interface ProfileInput {
  displayName: string;
  email: string;
  bio: string;
  website: string;
  github: string;
  role?: Role;
  /** Asked of the account's owner when the email changes. */
  currentPassword?: string;
}

export interface UserSummary {
  id: number;
  username: string;
  displayName: string;
  role: Role;
  postsCount: number;
  createdAt: Date;
  email?: string;
}

/** What a request knows about who is logged in. */
export type SessionUser = Pick<User, 'id' | 'username' | 'displayName' | 'role' | 'email' | 'emailConfirmedAt'>;

/** The columns of a SessionUser, over users aliased u: the session store reads them with the session. */
export const SESSION_USER_COLUMNS = `u.id, u.username, u.display_name AS "displayName", u.role, u.email,
  u.email_confirmed_at AS "emailConfirmedAt"`;

/** An account as the profile's edit pages show and change it. */
export type EditableUser = User;

// Compared against when a login names no account, so that a wrong username costs the
// same time as a wrong password and timing does not reveal which usernames exist.
let decoyHash: Promise<string> | undefined;

export interface PasswordChange {
  currentPassword: string;
  newPassword: string;
}

/** What anyone may see of an account: its profile page and feed read only these. */
const PUBLIC_ATTRIBUTES = ['id', 'username', 'displayName', 'bio', 'role', 'profile', 'postsCount', 'createdAt'];

/** The address of the newest open confirmation link that is not the account's address yet. */
const PENDING_EMAIL = literal(`(
  SELECT t.email FROM account_tokens t
   WHERE t.user_id = "User".id AND t.purpose = 'confirm_email' AND t.used_at IS NULL
     AND t.expires_at > now() AND t.email <> "User".email
   ORDER BY t.id DESC LIMIT 1)`);

/** The address an account's email change waits to be confirmed for (findEditable reads it). */
export const pendingEmailOf = (user: User): string | undefined =>
  (user.get({ plain: true }) as { pendingEmail?: string | null }).pendingEmail ?? undefined;

/** A mail in the outbox, written in the transaction of the change that causes it. */
export function queueMail(
  models: Pick<ReturnType<typeof modelsOf>, 'OutboxMail'>,
  mail: MailMessage,
  transaction: Transaction,
): Promise<unknown> {
  return models.OutboxMail.create(
    { kind: mail.kind, recipient: mail.to, subject: mail.subject, body: mail.text },
    { transaction },
  );
}

/** The confirmation link for `email`, mailed to it, in `transaction`. */
export async function queueConfirmation(
  models: Pick<ReturnType<typeof modelsOf>, 'AccountToken' | 'OutboxMail'>,
  user: Pick<User, 'id' | 'displayName'>,
  email: string,
  origin: string,
  transaction: Transaction,
  change: boolean,
): Promise<void> {
  const token = await issueToken(models, { userId: user.id, purpose: 'confirm_email', email }, transaction);
  const link = origin + paths.email.confirm(token);
  await queueMail(models, mails.confirmAddress(email, { name: user.displayName, link, origin, change }), transaction);
}

export function createUsersService(sequelize: Sequelize) {
  const models = modelsOf(sequelize);
  const { User } = models;

  async function checkPassword(user: User, password: string | undefined, field = 'currentPassword'): Promise<void> {
    if (password === undefined || !(await verifyPassword(user.passwordHash, password))) {
      throw new FieldError(field, 'That is not your current password.');
    }
  }
  /**
   * Refuses a change that would leave the site without an admin. The admin rows stay
   * locked until the transaction ends, so two admins demoting each other at once cannot
   * both succeed.
   */
  async function keepAnAdmin(leaving: User, transaction: Transaction): Promise<void> {
    if (leaving.role !== 'admin') return;
    const admins = await User.findAll({
      where: { role: 'admin' },
      attributes: ['id'],
      // Always the same order, so two of these transactions cannot deadlock each other.
      order: [['id', 'ASC']],
      lock: transaction.LOCK.UPDATE,
      transaction,
    });
    if (!admins.some((admin) => admin.id !== leaving.id)) {
      throw new ConflictError('role', 'This is the only admin account: make someone else an admin first.');
    }
  }

  function endSessions(userId: number, transaction: Transaction): Promise<unknown> {
    return sequelize.query('DELETE FROM sessions WHERE user_id = :id', {
      replacements: { id: userId },
      type: QueryTypes.DELETE,
      transaction,
    });
  }

  /**
   * A new password: every reset link of the account used up, every session ended, and a
   * notice mailed to the account's address, in one transaction.
   */
  async function setPassword(user: User, password: string, origin: string, given?: Transaction): Promise<void> {
    const passwordHash = await hashPassword(password);
    const work = async (transaction: Transaction): Promise<void> => {
      await User.update({ passwordHash }, { where: { id: user.id }, transaction });
      await useAllTokens(models, user.id, 'password_reset', transaction);
      await endSessions(user.id, transaction);
      await queueMail(models, mails.passwordChanged(user.email, { name: user.displayName, origin }), transaction);
    };
    await (given ? work(given) : inTransaction(sequelize, work));
  }

  async function sendPasswordReset(user: User, origin: string, byAdmin: boolean): Promise<void> {
    await inTransaction(sequelize, async (transaction) => {
      const token = await issueToken(models, { userId: user.id, purpose: 'password_reset' }, transaction);
      const link = origin + paths.password.reset(token);
      await queueMail(
        models,
        mails.passwordReset(user.email, { name: user.displayName, link, origin, byAdmin }),
        transaction,
      );
    });
  }

  function findByUsername(username: string, attributes?: FindAttributeOptions): Promise<User> {
    // Usernames are stored in lower case (a CHECK constraint), so any casing finds its owner.
    return User.findOne({
      where: { username: username.toLowerCase() },
      attributes,
      rejectOnEmpty: new NotFoundError('We could not find that user.'),
    });
  }

  return {
    /**
     * A new account (a member, unless an admin creates an admin from the shell) and, in the
     * same transaction, the mail that asks its address to confirm itself; an account made
     * from the shell (`confirmed`) is confirmed at once.
     */
    async signUp(input: SignupInput, options: { origin: string } | { role: Role; confirmed: true }): Promise<User> {
      const passwordHash = await hashPassword(input.password);
      const confirmed = 'confirmed' in options;
      try {
        return await inTransaction(sequelize, async (transaction) => {
          const user = await User.create(
            {
              username: input.username,
              email: input.email,
              passwordHash,
              displayName: input.displayName || input.username,
              role: confirmed ? options.role : 'member',
              emailConfirmedAt: confirmed ? new Date() : null,
            },
            { transaction },
          );
          if (!confirmed) await queueConfirmation(models, user, user.email, options.origin, transaction, false);
          return user;
        });
      } catch (error) {
        throw translateUniqueViolation(error);
      }
    },

    /** The account for a username or email and password, or null: never which was wrong. */
    async authenticate(login: string, password: string): Promise<User | null> {
      const key = login.toLowerCase();
      const user = await User.findOne({
        where: key.includes('@')
          ? sequelize.where(sequelize.fn('lower', sequelize.col('email')), key)
          : { username: key },
      });
      if (!user) {
        decoyHash ??= hashPassword('decoy password for unknown accounts');
        await verifyPassword(await decoyHash, password);
        return null;
      }
      return (await verifyPassword(user.passwordHash, password)) ? user : null;
    },

    /**
     * Another confirmation link for the account's address (the "send again" button), unless
     * it is confirmed already (a page open from before): whether one was sent.
     */
    async resendConfirmation(userId: number, origin: string): Promise<{ email: string; sent: boolean }> {
      return inTransaction(sequelize, async (transaction) => {
        const user = await User.findByPk(userId, { transaction, rejectOnEmpty: new NotFoundError() });
        const sent = !user.emailConfirmedAt;
        if (sent) await queueConfirmation(models, user, user.email, origin, transaction, false);
        return { email: user.email, sent };
      });
    },

    findByUsername,

    /**
     * A profile as anyone may see it: no password hash, no email; and, for a viewer who may
     * edit it (`withConfirmation`), whether its address is confirmed.
     */
    findProfile(username: string, withConfirmation = false): Promise<User> {
      return findByUsername(
        username,
        withConfirmation ? [...PUBLIC_ATTRIBUTES, 'emailConfirmedAt'] : PUBLIC_ATTRIBUTES,
      );
    },

    /**
     * The account, if `actor` may change it (by default: edit its profile), else 403; with,
     * in the same statement, the address a change waits to be confirmed for (`pendingEmailOf`).
     */
    async findEditable(username: string, actor: Actor, allowed = can.editUser): Promise<User> {
      const user = await findByUsername(username, { include: [[PENDING_EMAIL, 'pendingEmail']] });
      if (!allowed(actor, user)) throw new ForbiddenError('Only this user or an admin can change this account.');
      return user;
    },

    /**
     * Users by username, paged by cursor (the username itself). `q` matches anywhere in
     * the username, the display name, or (for admins) the email, through trigram indexes.
     */
    async list(options: { position: Position; q?: string; viewer?: Actor }): Promise<Page<UserSummary>> {
      const { position } = options;
      const showEmails = can.seeEmails(options.viewer);
      const conditions: WhereOptions<User>[] = [];
      if (options.q) {
        const pattern = containsPattern(options.q);
        const searched: WhereOptions<User>[] = [
          { username: { [Op.iLike]: pattern } },
          { displayName: { [Op.iLike]: pattern } },
        ];
        if (showEmails) searched.push({ email: { [Op.iLike]: pattern } });
        conditions.push({ [Op.or]: searched });
      }
      if (position.after) conditions.push({ username: { [Op.gt]: position.after } });
      if (position.before) conditions.push({ username: { [Op.lt]: position.before } });
      const rows = await User.findAll({
        where: { [Op.and]: conditions },
        attributes: [
          'id',
          'username',
          'displayName',
          'role',
          'postsCount',
          'createdAt',
          ...(showEmails ? ['email'] : []),
        ],
        order: [['username', position.before ? 'DESC' : 'ASC']],
        limit: PAGE_FETCH,
        offset: position.after || position.before ? 0 : offsetFor(position),
        raw: true,
      });
      return keysetPage(rows as UserSummary[], position, (user) => user.username);
    },

    /**
     * Writes only the allow-listed profile fields; the role only when an admin asks. A new
     * email is not written: a link goes to it (and a notice to the current one), and the
     * change takes effect when that link is followed. The account's owner confirms such a
     * change with the current password. Returns the address waiting for its confirmation.
     */
    async updateProfile(
      user: User,
      input: ProfileInput,
      actor: Actor,
      origin: string,
    ): Promise<{ pendingEmail?: string }> {
      const newEmail = input.email.toLowerCase() === user.email.toLowerCase() ? undefined : input.email;
      if (newEmail !== undefined) {
        const owner = await User.findOne({
          where: sequelize.where(sequelize.fn('lower', sequelize.col('email')), newEmail.toLowerCase()),
          attributes: ['id'],
        });
        if (owner) throw new ConflictError('email', 'An account with that email already exists.');
        if (actor.id === user.id) await checkPassword(user, input.currentPassword);
      }
      const profile: Profile = {};
      for (const link of PROFILE_LINKS) {
        if (input[link]) profile[link] = input[link];
      }
      const changes: Partial<Pick<User, 'displayName' | 'bio' | 'profile' | 'role'>> = {
        displayName: input.displayName,
        bio: input.bio,
        profile,
      };
      if (input.role !== undefined && can.changeRole(actor)) changes.role = input.role;
      await inTransaction(sequelize, async (transaction) => {
        if (changes.role === 'member') await keepAnAdmin(user, transaction);
        await user.update(changes, { transaction });
        if (newEmail === undefined) return;
        await queueConfirmation(models, user, newEmail, origin, transaction, true);
        const notice = mails.emailChangeRequested(user.email, { name: user.displayName, newEmail, origin });
        await queueMail(models, notice, transaction);
      });
      return { pendingEmail: newEmail };
    },

    /** Sets a new password, ends every session of the account and mails a notice, in one transaction. */
    async changePassword(user: User, input: PasswordChange, origin: string): Promise<void> {
      await checkPassword(user, input.currentPassword);
      await setPassword(user, input.newPassword, origin);
    },

    /**
     * A reset link for the account that uses `email`, if one does: the caller answers the
     * same either way, so the page never tells whether an address has an account.
     */
    async requestPasswordReset(email: string, origin: string): Promise<number | undefined> {
      const user = await User.findOne({
        where: sequelize.where(sequelize.fn('lower', sequelize.col('email')), email.toLowerCase()),
      });
      if (user) await sendPasswordReset(user, origin, false);
      return user?.id;
    },

    /** An admin sends the account a reset link (admins never see or set a password). */
    sendPasswordReset: (user: User, origin: string) => sendPasswordReset(user, origin, true),

    /** The account a link is for, if the link can be used now (else an UnusableLinkError). */
    async accountOfLink(token: string, purpose: TokenPurpose): Promise<{ user: User; email: string | null }> {
      const row = await usableToken(models, token, purpose);
      const user = await User.findByPk(row.userId, { rejectOnEmpty: new UnusableLinkError('unknown') });
      return { user, email: row.email };
    },

    /**
     * The new password of a reset link, under the password policy: the link (and every
     * other reset link of the account) used up, every session ended, a notice mailed.
     */
    async resetPassword(token: string, password: string, origin: string): Promise<User> {
      return inTransaction(sequelize, async (transaction) => {
        const row = await usableToken(models, token, 'password_reset', transaction);
        const user = await User.findByPk(row.userId, {
          transaction,
          lock: transaction.LOCK.UPDATE,
          rejectOnEmpty: true,
        });
        const problem = passwordProblem(password, user.username);
        if (problem) throw new FieldError('password', problem);
        await setPassword(user, password, origin, transaction);
        return user;
      });
    },

    /**
     * Follows a confirmation link: the account's address becomes the one the link was sent
     * to, confirmed, and every other open confirmation link of the account is used up. If
     * another account took that address meanwhile, nothing changes (409).
     */
    async confirmEmail(token: string): Promise<{ user: User; from: string }> {
      try {
        return await inTransaction(sequelize, async (transaction) => {
          const row = await usableToken(models, token, 'confirm_email', transaction);
          const user = await User.findByPk(row.userId, {
            transaction,
            lock: transaction.LOCK.UPDATE,
            rejectOnEmpty: true,
          });
          const from = user.email;
          await user.update({ email: row.email!, emailConfirmedAt: new Date() }, { transaction });
          await useAllTokens(models, user.id, 'confirm_email', transaction);
          return { user, from };
        });
      } catch (error) {
        if (translateUniqueViolation(error) instanceof ConflictError) {
          throw new AppError(
            'That address now belongs to another account, so it cannot be yours: nothing was changed.',
            409,
          );
        }
        throw error;
      }
    },

    /**
     * Removes the account, its posts and their comments (by cascade), its comments elsewhere
     * (off their posts' counts) and its sessions, all or nothing; its owner gives the password.
     */
    async destroy(user: User, actor: Actor, currentPassword?: string): Promise<void> {
      if (actor.id === user.id) await checkPassword(user, currentPassword);
      await inTransaction(sequelize, async (transaction) => {
        await keepAnAdmin(user, transaction);
        // The row lock holds off a comment being added by this account (its foreign key
        // check waits for the lock, then fails) between counting its comments and the delete.
        const locked = await User.findByPk(user.id, { attributes: ['id'], lock: transaction.LOCK.UPDATE, transaction });
        if (!locked) throw new NotFoundError('We could not find that user.');
        await deleteCommentsBy(sequelize, [user.id], transaction);
        await endSessions(user.id, transaction);
        await User.destroy({ where: { id: user.id }, transaction });
      });
    },
  };
}

export type UsersService = ReturnType<typeof createUsersService>;
