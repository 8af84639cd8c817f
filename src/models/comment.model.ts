import {
  type CreationOptional,
  DataTypes,
  type ForeignKey,
  type InferAttributes,
  type InferCreationAttributes,
  Model,
  type NonAttribute,
  type Sequelize,
} from 'sequelize';
import { MAX_LENGTH } from './fields.js';
import type { Post } from './post.model.js';
import type { User } from './user.model.js';

/** What someone wrote under a post: plain text, shown as typed (paragraphs and line breaks kept). */
export class Comment extends Model<
  InferAttributes<Comment, { omit: 'author' | 'post' }>,
  InferCreationAttributes<Comment, { omit: 'author' | 'post' }>
> {
  declare id: CreationOptional<number>;
  declare postId: ForeignKey<Post['id']>;
  declare authorId: ForeignKey<User['id']>;
  declare body: string;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;

  declare author?: NonAttribute<User>;
  declare post?: NonAttribute<Post>;

  static initModel(sequelize: Sequelize): void {
    Comment.init(
      {
        id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
        body: { type: DataTypes.TEXT, allowNull: false, validate: { len: [1, MAX_LENGTH.comment] } },
        createdAt: { type: DataTypes.DATE, allowNull: false },
        updatedAt: { type: DataTypes.DATE, allowNull: false },
      },
      { sequelize, tableName: 'comments', modelName: 'Comment', underscored: true },
    );
  }
}
