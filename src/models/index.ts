import type { Sequelize } from 'sequelize';
import { Post } from './post.model.js';
import { User } from './user.model.js';

export { Post, User };

export function initModels(sequelize: Sequelize): void {
  User.initModel(sequelize);
  Post.initModel(sequelize);
  User.hasMany(Post, { as: 'posts', foreignKey: { name: 'authorId', allowNull: false }, onDelete: 'CASCADE' });
  Post.belongsTo(User, { as: 'author', foreignKey: { name: 'authorId', allowNull: false } });
}
