import type { QueryInterface } from 'sequelize';

// The store of express-session (connect-pg-simple's columns: sid, sess, expire).
export async function up(queryInterface: QueryInterface): Promise<void> {
  await queryInterface.sequelize.transaction(async (transaction) => {
    await queryInterface.sequelize.query(
      `CREATE TABLE sessions (
         sid varchar(255) PRIMARY KEY,
         sess json NOT NULL,
         expire timestamptz NOT NULL,
         -- Derived from the session data, so that a user's sessions can be found and
         -- ended (account deleted, password changed) without reading every row.
         user_id integer GENERATED ALWAYS AS ((sess ->> 'userId')::integer) STORED
       );
       CREATE INDEX sessions_expire_idx ON sessions (expire);
       CREATE INDEX sessions_user_id_idx ON sessions (user_id) WHERE user_id IS NOT NULL;`,
      { transaction },
    );
  });
}

export async function down(queryInterface: QueryInterface): Promise<void> {
  await queryInterface.dropTable('sessions');
}
