import type { QueryInterface } from 'sequelize';

// Full-text search of published posts (/posts?q=). The words of each post are kept beside
// it in a tsvector column, title words weighted A and body words B, so that ranking and the
// checks of a date-ordered walk read a column instead of parsing the body again
// (to_tsvector costs about 50 µs a post). A trigger computes it on every insert and on
// every change of the title or body, in the writing transaction: a post is searchable once
// that commits, and an edit changes its results at once.
//
// A trigger rather than a generated column: a bulk load (the volume seeder) may drop it
// inside its own transaction, and put it back before committing, to supply vectors that
// several connections computed in parallel with the same post_search_vector function,
// where a generated column would compute them one at a time inside the COPY.
//
// On a table that already holds posts, the UPDATE below computes every vector under an
// exclusive lock: about a minute a million posts.
export async function up(queryInterface: QueryInterface): Promise<void> {
  await queryInterface.sequelize.transaction(async (transaction) => {
    await queryInterface.sequelize.query(
      `-- Body positions start 16 past the title's last word: a phrase of the 12 words a
       -- search may hold cannot run from the end of the title into the body. (|| offsets the
       -- right vector by the left one's largest position; the spacer lexeme, a blank that
       -- no text yields, is deleted again.)
       CREATE FUNCTION post_search_vector(title text, body text) RETURNS tsvector
         LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
         RETURN ts_delete(
           setweight(to_tsvector('english', title), 'A') || ''' '':16'::tsvector
             || setweight(to_tsvector('english', body), 'B'),
           ' '
         );
       CREATE FUNCTION posts_set_search_vector() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           NEW.search_vector := post_search_vector(NEW.title, NEW.body);
           RETURN NEW;
         END
       $$;
       ALTER TABLE posts ADD COLUMN search_vector tsvector;
       UPDATE posts SET search_vector = post_search_vector(title, body);
       ALTER TABLE posts ALTER COLUMN search_vector SET NOT NULL;
       -- A search decides how to read posts from how many hold each of its words, which the
       -- planner takes from the column's list of most common words: the default keeps about
       -- 150 (down to ~1 % of posts), where 400 keeps some 800 (down to ~0.06 %), so that a
       -- word missing from the list is known to be rare. ANALYZE takes seconds longer.
       ALTER TABLE posts ALTER COLUMN search_vector SET STATISTICS 400;
       CREATE TRIGGER posts_search_vector BEFORE INSERT OR UPDATE OF title, body ON posts
         FOR EACH ROW EXECUTE FUNCTION posts_set_search_vector();
       -- Only published posts are ever searched.
       CREATE INDEX posts_search_idx ON posts USING gin (search_vector) WHERE published;`,
      { transaction },
    );
  });
}

export async function down(queryInterface: QueryInterface): Promise<void> {
  await queryInterface.sequelize.transaction(async (transaction) => {
    await queryInterface.sequelize.query(
      `DROP TRIGGER posts_search_vector ON posts;
       ALTER TABLE posts DROP COLUMN search_vector;
       DROP FUNCTION posts_set_search_vector();
       DROP FUNCTION post_search_vector(text, text);`,
      { transaction },
    );
  });
}
