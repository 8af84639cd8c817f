import { DataTypes, type QueryInterface } from 'sequelize';

export async function up(queryInterface: QueryInterface): Promise<void> {
  await queryInterface.sequelize.transaction(async (transaction) => {
    await queryInterface.createTable(
      'posts',
      {
        id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
        author_id: {
          type: DataTypes.INTEGER,
          allowNull: false,
          references: { model: 'users', key: 'id' },
          onDelete: 'CASCADE',
          onUpdate: 'CASCADE',
        },
        title: { type: DataTypes.STRING(200), allowNull: false },
        body: { type: DataTypes.TEXT, allowNull: false },
        published: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
        published_at: { type: DataTypes.DATE, allowNull: true },
        created_at: { type: DataTypes.DATE, allowNull: false, defaultValue: queryInterface.sequelize.fn('now') },
        updated_at: { type: DataTypes.DATE, allowNull: false, defaultValue: queryInterface.sequelize.fn('now') },
      },
      { transaction },
    );
    await queryInterface.sequelize.query(
      `ALTER TABLE posts
         -- Not blank: at least one character that is not whitespace of any kind.
         ADD CONSTRAINT posts_title_not_blank CHECK (title ~ '[^[:space:]]'),
         ADD CONSTRAINT posts_body_length CHECK (char_length(body) <= 100000),
         ADD CONSTRAINT posts_published_at_set CHECK (published = (published_at IS NOT NULL));
       -- The public lists (home, /posts): newest published first, id breaking ties.
       CREATE INDEX posts_published_at_id_idx ON posts (published_at DESC, id DESC) WHERE published;
       -- A profile seen by others: that author's published posts, newest first.
       CREATE INDEX posts_author_published_at_idx ON posts (author_id, published_at DESC, id DESC)
         WHERE published;
       -- A profile seen by its owner (drafts too), and the cascade from users.
       CREATE INDEX posts_author_created_at_idx ON posts (author_id, created_at DESC, id DESC);`,
      { transaction },
    );
  });
}

export async function down(queryInterface: QueryInterface): Promise<void> {
  await queryInterface.dropTable('posts');
}
