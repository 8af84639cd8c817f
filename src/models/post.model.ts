import {
  type BelongsToManySetAssociationsMixin,
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
import type { Tag } from './tag.model.js';
import type { User } from './user.model.js';

export class Post extends Model<
  InferAttributes<Post, { omit: 'author' | 'tags' }>,
  InferCreationAttributes<Post, { omit: 'author' | 'tags' }>
> {
  declare id: CreationOptional<number>;
  declare authorId: ForeignKey<User['id']>;
  declare title: string;
  declare body: string;
  declare published: CreationOptional<boolean>;
  declare publishedAt: Date | null;
  /** The body as safe HTML, and its excerpt, as the renderer of version `renderedWith` made them (0: never). */
  declare bodyHtml: CreationOptional<string | null>;
  declare excerpt: CreationOptional<string | null>;
  declare renderedWith: CreationOptional<number>;
  /** How many comments it has: kept exact by the comments service, in each write's transaction. */
  declare commentsCount: CreationOptional<number>;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;

  declare author?: NonAttribute<User>;
  declare tags?: NonAttribute<Tag[]>;
  declare setTags: BelongsToManySetAssociationsMixin<Tag, number>;

  static initModel(sequelize: Sequelize): void {
    Post.init(
      {
        id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
        title: {
          type: DataTypes.STRING(MAX_LENGTH.title),
          allowNull: false,
          validate: { len: [1, MAX_LENGTH.title] },
        },
        body: { type: DataTypes.TEXT, allowNull: false, validate: { len: [0, MAX_LENGTH.body] } },
        published: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
        publishedAt: { type: DataTypes.DATE, allowNull: true },
        bodyHtml: { type: DataTypes.TEXT, allowNull: true },
        excerpt: { type: DataTypes.STRING(300), allowNull: true },
        renderedWith: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
        commentsCount: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
        createdAt: { type: DataTypes.DATE, allowNull: false },
        updatedAt: { type: DataTypes.DATE, allowNull: false },
      },
      {
        sequelize,
        tableName: 'posts',
        modelName: 'Post',
        underscored: true,
        validate: {
          publishedAtMatchesPublished(this: Post) {
            if (this.published !== (this.publishedAt !== null && this.publishedAt !== undefined)) {
              throw new Error('publishedAt must be set exactly when the post is published');
            }
          },
        },
      },
    );
  }
}
