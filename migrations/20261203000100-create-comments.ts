import { DataTypes, type QueryInterface } from 'sequelize';

// Comments under posts, and each post's count of them. The app keeps comments_count exact
// in the transaction of every insert and delete (src/services/comments.service.ts); the
// CHECK is the last line of defence against a decrement too many.
export async function up(queryInterface: QueryInterface): Promise<void> {
  await queryInterface.sequelize.transaction(async (transaction) => {
    await queryInterface.createTable(
      'comments',
      {
        id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
        post_id: {
          type: DataTypes.INTEGER,
          allowNull: false,
          references: { model: 'posts', key: 'id' },
          onDelete: 'CASCADE',
          onUpdate: 'CASCADE',
        },
        author_id: {
          type: DataTypes.INTEGER,
          allowNull: false,
          references: { model: 'users', key: 'id' },
          onDelete: 'CASCADE',
          onUpdate: 'CASCADE',
        },
        body: { type: DataTypes.TEXT, allowNull: false },
        created_at: { type: DataTypes.DATE, allowNull: false, defaultValue: queryInterface.sequelize.fn('now') },
        updated_at: { type: DataTypes.DATE, allowNull: false, defaultValue: queryInterface.sequelize.fn('now') },
      },
      { transaction },
    );
    await queryInterface.sequelize.query(
      `ALTER TABLE comments
         -- Not blank: at least one character that is not whitespace of any kind.
         ADD CONSTRAINT comments_body_not_blank CHECK (body ~ '[^[:space:]]'),
         ADD CONSTRAINT comments_body_length CHECK (char_length(body) <= 5000);
       -- A post's thread, oldest first, by cursor; and the cascade from posts.
       CREATE INDEX comments_post_created_at_idx ON comments (post_id, created_at, id);
       -- Someone's comments, deleted with their account (and the cascade from users).
       CREATE INDEX comments_author_idx ON comments (author_id);
       -- PostgreSQL 11 and later add a column with a constant default without rewriting the table.
       ALTER TABLE posts
         ADD COLUMN comments_count integer NOT NULL DEFAULT 0,
         ADD CONSTRAINT posts_comments_count_not_negative CHECK (comments_count >= 0);`,
      { transaction },
    );
  });
}

export async function down(queryInterface: QueryInterface): Promise<void> {
  await queryInterface.sequelize.transaction(async (transaction) => {
    await queryInterface.dropTable('comments', { transaction });
    await queryInterface.sequelize.query('ALTER TABLE posts DROP COLUMN comments_count;', { transaction });
  });
}
