import type { Request, Response } from 'express';
import { NotFoundError } from '../errors.js';
import { atomFeed, originOf } from '../rendering/feeds.js';
import { paths } from '../paths.js';
import type { Position } from '../services/pagination.js';
import type { PostsService } from '../services/posts.service.js';
import type { TagsService } from '../services/tags.service.js';
import { urlData } from '../validators/common.js';

const FEED_ENTRIES = 20;

/** Where a list starts: ?after or ?before, not both. */
function startOf(req: Request): Position & { name: string } {
  const data = urlData<Position & { name: string }>(req);
  if (data.after !== undefined && data.before !== undefined) throw new NotFoundError();
  return data;
}

export function createTagsController(
  tags: TagsService,
  posts: PostsService,
  options: { publicUrl: string | undefined },
) {
  return {
    index: async (req: Request, res: Response): Promise<void> => {
      const { after, before } = startOf(req);
      const result = await tags.popular({ after, before });
      res.render('tags/index', { title: 'Tags', result });
    },

    show: async (req: Request, res: Response): Promise<void> => {
      const { name, after, before } = startOf(req);
      const tag = await tags.find(name);
      const result = await posts.listTagged(tag.id, { after, before });
      res.render('tags/show', {
        title: `Posts tagged “${tag.name}”`,
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
