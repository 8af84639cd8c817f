import type { QueryInterface } from 'sequelize';

// Finding people by any part of their names: /users?q= matches ILIKE '%…%' on username,
// display name and (for admins) email, which pg_trgm's trigram GIN indexes serve.
export async function up(queryInterface: QueryInterface): Promise<void> {
  await queryInterface.sequelize.transaction(async (transaction) => {
    await queryInterface.sequelize.query(
      `CREATE EXTENSION IF NOT EXISTS pg_trgm;
       CREATE INDEX users_username_trgm_idx ON users USING gin (username gin_trgm_ops);
       CREATE INDEX users_display_name_trgm_idx ON users USING gin (display_name gin_trgm_ops);
       CREATE INDEX users_email_trgm_idx ON users USING gin (email gin_trgm_ops);`,
      { transaction },
    );
  });
}

export async function down(queryInterface: QueryInterface): Promise<void> {
  await queryInterface.sequelize.transaction(async (transaction) => {
    await queryInterface.sequelize.query(
      `DROP INDEX users_email_trgm_idx, users_display_name_trgm_idx, users_username_trgm_idx;
       DROP EXTENSION IF EXISTS pg_trgm;`,
      { transaction },
    );
  });
}
