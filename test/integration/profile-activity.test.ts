import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPostsService } from '../../src/services/posts.service.js';
import { useTestApp } from '../support/app.js';
import { Visitor } from '../support/browser.js';
import { createPost, createUser } from '../support/factories.js';

const t = useTestApp();

const WEEK_MS = 7 * 24 * 3600 * 1000;

test('weeklyActivity › 52 weeks oldest first, empty weeks as 0, only this author’s published posts of the last year', async () => {
  const author = await createUser();
  const other = await createUser();
  const now = Date.now();
  await createPost(t.db, author, { publishedAt: new Date(now - 60_000) });
  await createPost(t.db, author, { publishedAt: new Date(now - 120_000) });
  await createPost(t.db, author, { publishedAt: new Date(now - 3 * WEEK_MS) });
  await createPost(t.db, author, { publishedAt: new Date(now - 60 * WEEK_MS) });
  await createPost(t.db, author, { published: false });
  await createPost(t.db, other, { publishedAt: new Date(now - 60_000) });

  // One statement, whatever the data: count what Sequelize sends while it runs.
  let queries = 0;
  t.db.sequelize.addHook('beforeQuery', 'countQueries', () => {
    queries++;
  });
  let weeks;
  try {
    weeks = await createPostsService(t.db.sequelize).weeklyActivity(author.id);
  } finally {
    t.db.sequelize.removeHook('beforeQuery', 'countQueries');
  }
  assert.equal(queries, 1);

  assert.equal(weeks.length, 52);
  const starts = weeks.map((week) => new Date(week.weekStart).getTime());
  assert.deepEqual(
    starts,
    [...starts].sort((a, b) => a - b),
  );
  assert.equal(weeks.at(-1)?.posts, 2, 'this week');
  assert.equal(
    weeks.reduce((sum, week) => sum + week.posts, 0),
    3,
  );
  assert.equal(weeks.filter((week) => week.posts > 0).length, 2);
});

test('GET /users/:username › an accessible inline SVG of posts per week, with a text summary', async () => {
  const author = await createUser();
  await createPost(t.db, author, { publishedAt: new Date(Date.now() - 60_000) });
  await createPost(t.db, author, { publishedAt: new Date(Date.now() - 120_000) });
  await createPost(t.db, author, { publishedAt: new Date(Date.now() - 3 * WEEK_MS) });
  const res = await new Visitor(t).get(`/users/${author.username}`);
  assert.equal(res.status, 200);
  assert.match(res.body, /<svg [^>]*role="img" aria-labelledby="activity-title" aria-describedby="activity-summary"/);
  assert.match(res.body, /<title id="activity-title">Posts per week over the last 12 months<\/title>/);
  assert.equal(res.body.match(/<rect class="bar"/g)?.length, 2);
  assert.match(
    res.body,
    /<figcaption id="activity-summary">3 posts published in the last 12 months, in 2 of 52 weeks\. Busiest week: the week of [^,]+, with 2 posts\.<\/figcaption>/,
  );
});

test('GET /users/:username of someone who never published › the chart says so', async () => {
  const res = await new Visitor(t).get(`/users/${(await createUser()).username}`);
  assert.match(res.body, /No posts published in the last 12 months\./);
  assert.doesNotMatch(res.body, /<rect class="bar"/);
});
