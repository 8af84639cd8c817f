import { DataTypes, type QueryInterface } from 'sequelize';

export async function up(queryInterface: QueryInterface): Promise<void> {
  await queryInterface.sequelize.transaction(async (transaction) => {
    await queryInterface.createTable(
      'users',
      {
        id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
        username: { type: DataTypes.STRING(30), allowNull: false },
        email: { type: DataTypes.STRING(254), allowNull: false },
        password_hash: { type: DataTypes.STRING(255), allowNull: false },
        display_name: { type: DataTypes.STRING(50), allowNull: false },
        bio: { type: DataTypes.TEXT, allowNull: false, defaultValue: '' },
        role: { type: DataTypes.STRING(10), allowNull: false, defaultValue: 'member' },
        posts_count: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
        created_at: { type: DataTypes.DATE, allowNull: false, defaultValue: queryInterface.sequelize.fn('now') },
        updated_at: { type: DataTypes.DATE, allowNull: false, defaultValue: queryInterface.sequelize.fn('now') },
      },
      { transaction },
    );
    // Constraints the models mirror; the database stays the authority.
    await queryInterface.sequelize.query(
      `ALTER TABLE users
         ADD CONSTRAINT users_username_format CHECK (username ~ '^[a-z0-9_]{3,30}$'),
         ADD CONSTRAINT users_email_format CHECK (email ~ '^[^@\\s]+@[^@\\s]+$'),
         ADD CONSTRAINT users_display_name_length CHECK (char_length(display_name) BETWEEN 1 AND 50),
         ADD CONSTRAINT users_bio_length CHECK (char_length(bio) <= 1000),
         ADD CONSTRAINT users_role_valid CHECK (role IN ('member', 'admin')),
         ADD CONSTRAINT users_posts_count_non_negative CHECK (posts_count >= 0);
       -- Case-insensitive uniqueness; lookups use the same lower() expression.
       CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username));
       CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
       -- The users list is ordered by username.
       CREATE INDEX users_username_idx ON users (username);`,
      { transaction },
    );
  });
}

export async function down(queryInterface: QueryInterface): Promise<void> {
  await queryInterface.dropTable('users');
}
