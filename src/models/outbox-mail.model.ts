import {
  type CreationOptional,
  DataTypes,
  type InferAttributes,
  type InferCreationAttributes,
  Model,
  type Sequelize,
} from 'sequelize';
import { MAX_LENGTH } from './fields.js';

/**
 * A mail waiting to be sent, written in the transaction of the change that causes it. The
 * app's sender delivers it, retries it with backoff, and clears its body once it is sent.
 */
export class OutboxMail extends Model<InferAttributes<OutboxMail>, InferCreationAttributes<OutboxMail>> {
  declare id: CreationOptional<number>;
  /** What the mail is for (password_reset, confirm_email, …): for logs and metrics. */
  declare kind: string;
  declare recipient: string;
  declare subject: string;
  declare body: string | null;
  declare attempts: CreationOptional<number>;
  declare nextAttemptAt: CreationOptional<Date>;
  declare lastError: CreationOptional<string | null>;
  declare sentAt: CreationOptional<Date | null>;
  declare createdAt: CreationOptional<Date>;

  static initModel(sequelize: Sequelize): void {
    OutboxMail.init(
      {
        id: { type: DataTypes.BIGINT, autoIncrement: true, primaryKey: true },
        kind: { type: DataTypes.STRING(40), allowNull: false },
        recipient: { type: DataTypes.STRING(MAX_LENGTH.email), allowNull: false },
        subject: { type: DataTypes.STRING(200), allowNull: false },
        body: { type: DataTypes.TEXT, allowNull: true },
        attempts: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
        nextAttemptAt: { type: DataTypes.DATE, allowNull: false, defaultValue: DataTypes.NOW },
        lastError: { type: DataTypes.STRING(500), allowNull: true },
        sentAt: { type: DataTypes.DATE, allowNull: true },
        createdAt: { type: DataTypes.DATE, allowNull: false },
      },
      { sequelize, tableName: 'mail_outbox', modelName: 'OutboxMail', underscored: true, updatedAt: false },
    );
  }
}
