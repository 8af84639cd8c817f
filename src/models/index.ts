import type { Sequelize } from 'sequelize';
import { Post } from './post.model.js';
import { User } from './user.model.js';

export { Post, User };

export interface Models {
  User: typeof User;
  Post: typeof Post;
}

export function initModels(sequelize: Sequelize): void {
  User.initModel(sequelize);
  Post.initModel(sequelize);
  User.hasMany(Post, { as: 'posts', foreignKey: { name: 'authorId', allowNull: false }, onDelete: 'CASCADE' });
  Post.belongsTo(User, { as: 'author', foreignKey: { name: 'authorId', allowNull: false } });
}

/**
 * The model classes as `sequelize` holds them: services are handed the Sequelize instance
 * and take the models from it, one way for both.
 */
export function modelsOf(sequelize: Sequelize): Models {
  const { User: user, Post: post } = sequelize.models;
  if (!user || !post) throw new Error('the models are not initialised on this Sequelize instance (initModels)');
  return { User: user as typeof User, Post: post as typeof Post };
}
