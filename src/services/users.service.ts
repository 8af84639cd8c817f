import { Op, QueryTypes, type Sequelize, type Transaction, type WhereOptions } from 'sequelize';
import { inTransaction } from '../db/transaction.js';
import { ConflictError, FieldError, ForbiddenError, NotFoundError } from '../errors.js';
import { modelsOf, type User } from '../models/index.js';
import { PROFILE_LINKS, type Role } from '../models/fields.js';
import type { Profile } from '../models/user.model.js';
import { type Actor, can } from './policies.js';
import { translateUniqueViolation } from './db-errors.js';
import { containsPattern, keysetPage, offsetFor, PAGE_FETCH, type Page, type Position } from './pagination.js';
import { hashPassword, verifyPassword } from './passwords.js';

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
export type SessionUser = Pick<User, 'id' | 'username' | 'displayName' | 'role'>;

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

export function createUsersService(sequelize: Sequelize) {
  const { User } = modelsOf(sequelize);
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

  function findByUsername(username: string, attributes?: string[]): Promise<User> {
    // Usernames are stored in lower case (a CHECK constraint), so any casing finds its owner.
    return User.findOne({
      where: { username: username.toLowerCase() },
      attributes,
      rejectOnEmpty: new NotFoundError('We could not find that user.'),
    });
  }

  return {
    /** A new account (a member, unless an admin creates an admin from the shell). */
    async signUp(input: SignupInput, role: Role = 'member'): Promise<User> {
      const passwordHash = await hashPassword(input.password);
      try {
        return await User.create({
          username: input.username,
          email: input.email,
          passwordHash,
          displayName: input.displayName || input.username,
          role,
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

    findSessionUser(id: number): Promise<SessionUser | null> {
      return User.findByPk(id, { attributes: ['id', 'username', 'displayName', 'role'] });
    },

    findByUsername,

    /** A profile as anyone may see it: no password hash, no email. */
    findProfile(username: string): Promise<User> {
      return findByUsername(username, PUBLIC_ATTRIBUTES);
    },

    /** The account, if `actor` may change it (by default: edit its profile), else 403. */
    async findEditable(username: string, actor: Actor, allowed = can.editUser): Promise<User> {
      const user = await findByUsername(username);
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

    /** Writes only the allow-listed profile fields; the role only when an admin asks. */
    async updateProfile(user: User, input: ProfileInput, actor: Actor): Promise<User> {
      const profile: Profile = {};
      for (const link of PROFILE_LINKS) {
        if (input[link]) profile[link] = input[link];
      }
      const changes: Partial<Pick<User, 'displayName' | 'email' | 'bio' | 'profile' | 'role'>> = {
        displayName: input.displayName,
        email: input.email,
        bio: input.bio,
        profile,
      };
      if (input.role !== undefined && can.changeRole(actor)) changes.role = input.role;
      try {
        return await inTransaction(sequelize, async (transaction) => {
          if (changes.role === 'member') await keepAnAdmin(user, transaction);
          return user.update(changes, { transaction });
        });
      } catch (error) {
        throw translateUniqueViolation(error);
      }
    },

    /** Sets a new password and ends every session of the account, in one transaction. */
    async changePassword(user: User, input: PasswordChange): Promise<void> {
      if (!(await verifyPassword(user.passwordHash, input.currentPassword))) {
        throw new FieldError('currentPassword', 'That is not your current password.');
      }
      const passwordHash = await hashPassword(input.newPassword);
      await inTransaction(sequelize, async (transaction) => {
        await User.update({ passwordHash }, { where: { id: user.id }, transaction });
        await endSessions(user.id, transaction);
      });
    },

    /** Removes the account, its posts (by cascade) and its sessions, all or nothing. */
    async destroy(user: User): Promise<void> {
      await inTransaction(sequelize, async (transaction) => {
        await keepAnAdmin(user, transaction);
        await endSessions(user.id, transaction);
        await User.destroy({ where: { id: user.id }, transaction });
      });
    },
  };
}

export type UsersService = ReturnType<typeof createUsersService>;
