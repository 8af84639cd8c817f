import {
  type CreationOptional,
  DataTypes,
  type InferAttributes,
  type InferCreationAttributes,
  Model,
  type NonAttribute,
  type Sequelize,
} from 'sequelize';
import type { Post } from './post.model.js';

import { MAX_LENGTH, type ProfileLink, type Role, ROLES, USERNAME_PATTERN } from './fields.js';

export { PROFILE_LINKS, type ProfileLink, type Role, ROLES, USERNAME_PATTERN } from './fields.js';
export type Profile = Partial<Record<ProfileLink, string>>;

export class User extends Model<
  InferAttributes<User, { omit: 'posts' }>,
  InferCreationAttributes<User, { omit: 'posts' }>
> {
  declare id: CreationOptional<number>;
  declare username: string;
  declare email: string;
  declare passwordHash: string;
  declare displayName: string;
  declare bio: CreationOptional<string>;
  declare role: CreationOptional<Role>;
  declare profile: CreationOptional<Profile>;
  declare postsCount: CreationOptional<number>;
  /** When the account's address was confirmed by a mailed link; null: not yet. */
  declare emailConfirmedAt: CreationOptional<Date | null>;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;

  declare posts?: NonAttribute<Post[]>;

  get isAdmin(): NonAttribute<boolean> {
    return this.role === 'admin';
  }

  static initModel(sequelize: Sequelize): void {
    User.init(
      {
        id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
        username: {
          type: DataTypes.STRING(MAX_LENGTH.username),
          allowNull: false,
          validate: { is: USERNAME_PATTERN },
        },
        email: {
          type: DataTypes.STRING(MAX_LENGTH.email),
          allowNull: false,
          validate: { isEmail: true, len: [3, MAX_LENGTH.email] },
        },
        passwordHash: { type: DataTypes.STRING(255), allowNull: false },
        displayName: {
          type: DataTypes.STRING(MAX_LENGTH.displayName),
          allowNull: false,
          validate: { len: [1, MAX_LENGTH.displayName] },
        },
        bio: { type: DataTypes.TEXT, allowNull: false, defaultValue: '', validate: { len: [0, MAX_LENGTH.bio] } },
        role: {
          type: DataTypes.STRING(10),
          allowNull: false,
          defaultValue: 'member',
          validate: { isIn: [[...ROLES]] },
        },
        profile: { type: DataTypes.HSTORE, allowNull: false, defaultValue: {} },
        postsCount: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0, validate: { min: 0 } },
        emailConfirmedAt: { type: DataTypes.DATE, allowNull: true },
        createdAt: { type: DataTypes.DATE, allowNull: false },
        updatedAt: { type: DataTypes.DATE, allowNull: false },
      },
      { sequelize, tableName: 'users', modelName: 'User', underscored: true },
    );
  }
}
