import { Router } from 'express';
import type { TagsController } from '../controllers/tags.controller.js';
import { routes } from '../paths.js';
import { postListQuery, tagParam, tagsIndexQuery } from '../validators/common.js';

export function tagsRouter(tags: TagsController): Router {
  return Router()
    .get(routes.tags.index, tagsIndexQuery, tags.index)
    .get(routes.tags.show, tagParam, postListQuery, tags.show)
    .get(routes.tags.feed, tagParam, tags.feed);
}
