import type { Request, Response } from 'express';
import { atomFeed, originOf } from '../rendering/feeds.js';
import { viewHelpers } from '../rendering/views.js';
import { paths } from '../paths.js';
import type { Position } from '../services/pagination.js';
import type { PostsService } from '../services/posts.service.js';
import type { TagsService } from '../services/tags.service.js';
import { listData, urlData } from '../validators/common.js';

const FEED_ENTRIES = 20;
const { plural } = viewHelpers;

export function createTagsController(
  tags: TagsService,
  posts: PostsService,
  options: { publicUrl: string | undefined },
) {
  return {
    index: async (req: Request, res: Response): Promise<void> => {
      const { after, before } = listData<Position>(req);
      const result = await tags.popular({ after, before });
      res.render('tags/index', {
        title: 'Tags',
        description: 'The tags of the posts on Users and posts, the most used first.',
        result,
      });
    },

    show: async (req: Request, res: Response): Promise<void> => {
      const { name, after, before } = listData<Position & { name: string }>(req);
      const { postsCount, ...result } = await posts.listTagged(name, { after, before });
      // A page without posts says nothing of the tag: whether there is one, and its count.
      const tag = postsCount === undefined ? await tags.find(name) : { name, postsCount };
      res.render('tags/show', {
        title: `Posts tagged “${tag.name}”`,
        description: `${plural(tag.postsCount, 'published post')} tagged “${tag.name}” on Users and posts, newest first.`,
        canonicalPath: paths.tags.show(tag.name, { after, before }),
        tag,
        result,
        feed: { title: `Posts tagged “${tag.name}”`, href: paths.tags.feed(tag.name) },
      });
    },

    feed: async (req: Request, res: Response): Promise<void> => {
      const tag = await tags.find(urlData<{ name: string }>(req).name);
      const entries = await posts.feedEntries({ limit: FEED_ENTRIES, tagId: tag.id });
      res.type('application/atom+xml').send(
        atomFeed({
          origin: originOf(req, options.publicUrl),
          title: `Users and posts: posts tagged “${tag.name}”`,
          description: `The newest posts tagged “${tag.name}”.`,
          feedPath: paths.tags.feed(tag.name),
          pagePath: paths.tags.show(tag.name),
          posts: entries,
        }),
      );
    },
  };
}

export type TagsController = ReturnType<typeof createTagsController>;
