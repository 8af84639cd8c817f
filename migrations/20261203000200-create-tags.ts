import type { QueryInterface } from 'sequelize';

// Tags on posts, through post_tags (one row per post and tag). Two things are kept by the
// database itself, so that no path can leave them behind (a post published or taken back,
// a post or an account deleted by cascade, an admin's SQL):
// - post_tags.published_at is the post's published_at while the post is published, else
//   NULL: a tag's page then reads its newest posts from one index, whatever the tag's size.
// - tags.posts_count is how many published posts carry the tag: /tags orders by it without
//   counting a million rows.
// Both are written by triggers in the writing transaction.
export async function up(queryInterface: QueryInterface): Promise<void> {
  await queryInterface.sequelize.transaction(async (transaction) => {
    await queryInterface.sequelize.query(
      `CREATE TABLE tags (
         id serial PRIMARY KEY,
         name varchar(30) NOT NULL CONSTRAINT tags_name_key UNIQUE
           CONSTRAINT tags_name_format CHECK (name ~ '^[a-z0-9-]{1,30}$'),
         posts_count integer NOT NULL DEFAULT 0 CONSTRAINT tags_posts_count_not_negative CHECK (posts_count >= 0),
         created_at timestamptz NOT NULL DEFAULT now()
       );
       -- /tags: the most used first, those no published post carries left out.
       CREATE INDEX tags_posts_count_idx ON tags (posts_count DESC, name) WHERE posts_count > 0;
       CREATE TABLE post_tags (
         post_id integer NOT NULL REFERENCES posts (id) ON DELETE CASCADE ON UPDATE CASCADE,
         tag_id integer NOT NULL REFERENCES tags (id) ON DELETE CASCADE ON UPDATE CASCADE,
         published_at timestamptz,
         PRIMARY KEY (post_id, tag_id)
       );
       -- A tag's page: its published posts, newest first, by cursor.
       CREATE INDEX post_tags_tag_published_at_idx ON post_tags (tag_id, published_at DESC, post_id DESC)
         WHERE published_at IS NOT NULL;

       CREATE FUNCTION post_tags_set_published_at() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           NEW.published_at := (SELECT CASE WHEN p.published THEN p.published_at END FROM posts p WHERE p.id = NEW.post_id);
           RETURN NEW;
         END
       $$;
       CREATE TRIGGER post_tags_published_at BEFORE INSERT OR UPDATE OF post_id ON post_tags
         FOR EACH ROW EXECUTE FUNCTION post_tags_set_published_at();

       -- The post's tags are locked first, in id order, the order every writer takes them in
       -- (the app pairs a post's tags in that order): two posts sharing tags, one being
       -- published and one tagged, wait for each other rather than deadlock.
       CREATE FUNCTION posts_sync_post_tags() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           PERFORM 1 FROM tags WHERE id IN (SELECT tag_id FROM post_tags WHERE post_id = NEW.id)
             ORDER BY id FOR NO KEY UPDATE;
           UPDATE post_tags SET published_at = CASE WHEN NEW.published THEN NEW.published_at END
            WHERE post_id = NEW.id;
           RETURN NULL;
         END
       $$;
       CREATE TRIGGER posts_post_tags AFTER UPDATE OF published, published_at ON posts
         FOR EACH ROW WHEN (OLD.published IS DISTINCT FROM NEW.published OR OLD.published_at IS DISTINCT FROM NEW.published_at)
         EXECUTE FUNCTION posts_sync_post_tags();

       CREATE FUNCTION post_tags_count() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           IF TG_OP <> 'INSERT' AND OLD.published_at IS NOT NULL THEN
             UPDATE tags SET posts_count = posts_count - 1 WHERE id = OLD.tag_id;
           END IF;
           IF TG_OP <> 'DELETE' AND NEW.published_at IS NOT NULL THEN
             UPDATE tags SET posts_count = posts_count + 1 WHERE id = NEW.tag_id;
           END IF;
           RETURN NULL;
         END
       $$;
       CREATE TRIGGER post_tags_count AFTER INSERT OR DELETE OR UPDATE OF tag_id, published_at ON post_tags
         FOR EACH ROW EXECUTE FUNCTION post_tags_count();`,
      { transaction },
    );
  });
}

export async function down(queryInterface: QueryInterface): Promise<void> {
  await queryInterface.sequelize.transaction(async (transaction) => {
    await queryInterface.sequelize.query(
      `DROP TABLE post_tags;
       DROP TABLE tags;
       DROP TRIGGER posts_post_tags ON posts;
       DROP FUNCTION posts_sync_post_tags();
       DROP FUNCTION post_tags_set_published_at();
       DROP FUNCTION post_tags_count();`,
      { transaction },
    );
  });
}
