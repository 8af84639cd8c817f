import type { QueryInterface } from 'sequelize';

// Account recovery by mail.
// - users.email_confirmed_at: when the account's address was last confirmed (NULL: never).
// - account_tokens: the single-use links mailed to people (password reset, address
//   confirmation), stored only as the SHA-256 of the token; `email` is the address a
//   confirmation link confirms.
// - mail_outbox: a mail is a row written in the transaction of the change that causes it,
//   and delivered afterwards by the app (SELECT … FOR UPDATE SKIP LOCKED); its body, which
//   may hold a link, is cleared once it is sent.
export async function up(queryInterface: QueryInterface): Promise<void> {
  await queryInterface.sequelize.transaction(async (transaction) => {
    await queryInterface.sequelize.query(
      `ALTER TABLE users ADD COLUMN email_confirmed_at timestamptz;

       CREATE TABLE account_tokens (
         id bigserial PRIMARY KEY,
         user_id integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
         purpose varchar(20) NOT NULL CHECK (purpose IN ('password_reset', 'confirm_email')),
         token_hash char(64) NOT NULL UNIQUE,
         email varchar(254),
         expires_at timestamptz NOT NULL,
         used_at timestamptz,
         created_at timestamptz NOT NULL DEFAULT now(),
         CHECK ((purpose = 'confirm_email') = (email IS NOT NULL))
       );
       CREATE INDEX account_tokens_user_id_idx ON account_tokens (user_id);

       CREATE TABLE mail_outbox (
         id bigserial PRIMARY KEY,
         kind varchar(40) NOT NULL,
         recipient varchar(254) NOT NULL,
         subject varchar(200) NOT NULL,
         body text,
         attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
         next_attempt_at timestamptz NOT NULL DEFAULT now(),
         last_error varchar(500),
         sent_at timestamptz,
         created_at timestamptz NOT NULL DEFAULT now(),
         CHECK (sent_at IS NOT NULL OR body IS NOT NULL)
       );
       CREATE INDEX mail_outbox_due_idx ON mail_outbox (next_attempt_at, id) WHERE sent_at IS NULL;`,
      { transaction },
    );
  });
}

export async function down(queryInterface: QueryInterface): Promise<void> {
  await queryInterface.sequelize.transaction(async (transaction) => {
    await queryInterface.sequelize.query(
      `DROP TABLE mail_outbox;
       DROP TABLE account_tokens;
       ALTER TABLE users DROP COLUMN email_confirmed_at;`,
      { transaction },
    );
  });
}
