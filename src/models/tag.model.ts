import {
  type CreationOptional,
  DataTypes,
  type ForeignKey,
  type InferAttributes,
  type InferCreationAttributes,
  Model,
  type Sequelize,
} from 'sequelize';
import { MAX_LENGTH, TAG_PATTERN } from './fields.js';
import type { Post } from './post.model.js';

/** A word posts are filed under: lowercase a-z, 0-9 and -. */
export class Tag extends Model<InferAttributes<Tag>, InferCreationAttributes<Tag>> {
  declare id: CreationOptional<number>;
  declare name: string;
  /** How many published posts carry it: kept by the database (a trigger on post_tags). */
  declare postsCount: CreationOptional<number>;
  declare createdAt: CreationOptional<Date>;

  static initModel(sequelize: Sequelize): void {
    Tag.init(
      {
        id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
        name: { type: DataTypes.STRING(MAX_LENGTH.tag), allowNull: false, validate: { is: TAG_PATTERN } },
        postsCount: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
        createdAt: { type: DataTypes.DATE, allowNull: false },
      },
      { sequelize, tableName: 'tags', modelName: 'Tag', underscored: true, updatedAt: false },
    );
  }
}

/** A post carries a tag: the join table of Post.belongsToMany(Tag). */
export class PostTag extends Model<InferAttributes<PostTag>, InferCreationAttributes<PostTag>> {
  declare postId: ForeignKey<Post['id']>;
  declare tagId: ForeignKey<Tag['id']>;
  /** The post's published_at while it is published: kept by the database (triggers). */
  declare publishedAt: CreationOptional<Date | null>;

  static initModel(sequelize: Sequelize): void {
    PostTag.init(
      {
        postId: { type: DataTypes.INTEGER, primaryKey: true },
        tagId: { type: DataTypes.INTEGER, primaryKey: true },
        publishedAt: { type: DataTypes.DATE, allowNull: true },
      },
      { sequelize, tableName: 'post_tags', modelName: 'PostTag', underscored: true, timestamps: false },
    );
  }
}
