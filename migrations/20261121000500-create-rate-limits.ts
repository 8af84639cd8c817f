import type { QueryInterface } from 'sequelize';

// Hit counters of the login and signup rate limits, shared by every app process.
// UNLOGGED: counters lost in a crash cost nothing, and every login writes here.
export async function up(queryInterface: QueryInterface): Promise<void> {
  await queryInterface.sequelize.transaction(async (transaction) => {
    await queryInterface.sequelize.query(
      `CREATE UNLOGGED TABLE rate_limits (
         key varchar(300) PRIMARY KEY,
         hits integer NOT NULL CHECK (hits >= 0),
         reset_at timestamptz NOT NULL
       );
       CREATE INDEX rate_limits_reset_at_idx ON rate_limits (reset_at);`,
      { transaction },
    );
  });
}

export async function down(queryInterface: QueryInterface): Promise<void> {
  await queryInterface.dropTable('rate_limits');
}
