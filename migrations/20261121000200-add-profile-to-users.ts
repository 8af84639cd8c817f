import type { QueryInterface } from 'sequelize';

// Profile links (website, github, …) as an HSTORE of name → URL.
export async function up(queryInterface: QueryInterface): Promise<void> {
  await queryInterface.sequelize.transaction(async (transaction) => {
    await queryInterface.sequelize.query('CREATE EXTENSION IF NOT EXISTS hstore', { transaction });
    await queryInterface.sequelize.query(`ALTER TABLE users ADD COLUMN profile hstore NOT NULL DEFAULT ''::hstore`, {
      transaction,
    });
  });
}

export async function down(queryInterface: QueryInterface): Promise<void> {
  await queryInterface.sequelize.transaction(async (transaction) => {
    await queryInterface.removeColumn('users', 'profile', { transaction });
    await queryInterface.sequelize.query('DROP EXTENSION IF EXISTS hstore', { transaction });
  });
}
