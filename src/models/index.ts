import type { Sequelize } from 'sequelize';
import { AccountToken } from './account-token.model.js';
import { Comment } from './comment.model.js';
import { OutboxMail } from './outbox-mail.model.js';
import { Post } from './post.model.js';
import { PostTag, Tag } from './tag.model.js';
import { User } from './user.model.js';

export { AccountToken, Comment, OutboxMail, Post, PostTag, Tag, User };

export interface Models {
  User: typeof User;
  Post: typeof Post;
  AccountToken: typeof AccountToken;
  OutboxMail: typeof OutboxMail;
  Comment: typeof Comment;
  Tag: typeof Tag;
  PostTag: typeof PostTag;
}

export function initModels(sequelize: Sequelize): void {
  User.initModel(sequelize);
  Post.initModel(sequelize);
  AccountToken.initModel(sequelize);
  OutboxMail.initModel(sequelize);
  Comment.initModel(sequelize);
  Tag.initModel(sequelize);
  PostTag.initModel(sequelize);
  User.hasMany(Post, { as: 'posts', foreignKey: { name: 'authorId', allowNull: false }, onDelete: 'CASCADE' });
  Post.belongsTo(User, { as: 'author', foreignKey: { name: 'authorId', allowNull: false } });
  Post.hasMany(Comment, { as: 'comments', foreignKey: { name: 'postId', allowNull: false }, onDelete: 'CASCADE' });
  Comment.belongsTo(Post, { as: 'post', foreignKey: { name: 'postId', allowNull: false } });
  User.hasMany(Comment, { as: 'comments', foreignKey: { name: 'authorId', allowNull: false }, onDelete: 'CASCADE' });
  Comment.belongsTo(User, { as: 'author', foreignKey: { name: 'authorId', allowNull: false } });
  Post.belongsToMany(Tag, { through: PostTag, as: 'tags', foreignKey: 'postId', otherKey: 'tagId' });
  Tag.belongsToMany(Post, { through: PostTag, as: 'posts', foreignKey: 'tagId', otherKey: 'postId' });
  User.hasMany(AccountToken, { foreignKey: { name: 'userId', allowNull: false }, onDelete: 'CASCADE' });
  AccountToken.belongsTo(User, { as: 'user', foreignKey: { name: 'userId', allowNull: false } });
}

/**
 * The model classes as `sequelize` holds them: services are handed the Sequelize instance
 * and take the models from it, one way for both.
 */
export function modelsOf(sequelize: Sequelize): Models {
  const models = sequelize.models;
  const { User: user, Post: post, AccountToken: token, OutboxMail: mail, Comment: comment, Tag: tag } = models;
  const { PostTag: postTag } = models;
  if (!user || !post || !token || !mail || !comment || !tag || !postTag) {
    throw new Error('the models are not initialised on this Sequelize instance (initModels)');
  }
  return {
    User: user as typeof User,
    Post: post as typeof Post,
    AccountToken: token as typeof AccountToken,
    OutboxMail: mail as typeof OutboxMail,
    Comment: comment as typeof Comment,
    Tag: tag as typeof Tag,
    PostTag: postTag as typeof PostTag,
  };
}
