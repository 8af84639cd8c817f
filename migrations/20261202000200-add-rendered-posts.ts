import type { QueryInterface } from 'sequelize';

// A post's page and its place in the lists read HTML and an excerpt made when the post is
// saved, not rebuilt from Markdown on every read. `rendered_with` is the version of the
// renderer that made them (src/rendering/markdown.ts RENDERER_VERSION); a post whose version
// is not the current one (0: never rendered, as the rows that exist now) is rendered on
// read until `npm run posts:render` has stored it.
export async function up(queryInterface: QueryInterface): Promise<void> {
  await queryInterface.sequelize.transaction(async (transaction) => {
    await queryInterface.sequelize.query(
      `ALTER TABLE posts
         ADD COLUMN body_html text,
         ADD COLUMN excerpt varchar(300),
         ADD COLUMN rendered_with integer NOT NULL DEFAULT 0 CHECK (rendered_with >= 0),
         ADD CHECK (rendered_with = 0 OR (body_html IS NOT NULL AND excerpt IS NOT NULL));`,
      { transaction },
    );
  });
}

export async function down(queryInterface: QueryInterface): Promise<void> {
  await queryInterface.sequelize.transaction(async (transaction) => {
    await queryInterface.sequelize.query(
      'ALTER TABLE posts DROP COLUMN body_html, DROP COLUMN excerpt, DROP COLUMN rendered_with;',
      { transaction },
    );
  });
}
