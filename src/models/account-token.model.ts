import {
  type CreationOptional,
  DataTypes,
  type ForeignKey,
  type InferAttributes,
  type InferCreationAttributes,
  Model,
  type Sequelize,
} from 'sequelize';
import { MAX_LENGTH } from './fields.js';
import type { User } from './user.model.js';

export const TOKEN_PURPOSES = ['password_reset', 'confirm_email'] as const;
export type TokenPurpose = (typeof TOKEN_PURPOSES)[number];

/** A single-use link mailed to someone, kept as the SHA-256 of its token only. */
export class AccountToken extends Model<InferAttributes<AccountToken>, InferCreationAttributes<AccountToken>> {
  declare id: CreationOptional<number>;
  declare userId: ForeignKey<User['id']>;
  declare purpose: TokenPurpose;
  declare tokenHash: string;
  /** The address a confirmation link confirms; null for a password reset. */
  declare email: string | null;
  declare expiresAt: Date;
  declare usedAt: CreationOptional<Date | null>;
  declare createdAt: CreationOptional<Date>;

  static initModel(sequelize: Sequelize): void {
    AccountToken.init(
      {
        id: { type: DataTypes.BIGINT, autoIncrement: true, primaryKey: true },
        purpose: { type: DataTypes.STRING(20), allowNull: false, validate: { isIn: [[...TOKEN_PURPOSES]] } },
        tokenHash: { type: DataTypes.CHAR(64), allowNull: false },
        email: { type: DataTypes.STRING(MAX_LENGTH.email), allowNull: true },
        expiresAt: { type: DataTypes.DATE, allowNull: false },
        usedAt: { type: DataTypes.DATE, allowNull: true },
        createdAt: { type: DataTypes.DATE, allowNull: false },
      },
      { sequelize, tableName: 'account_tokens', modelName: 'AccountToken', underscored: true, updatedAt: false },
    );
  }
}
