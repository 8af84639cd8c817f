import { Router } from 'express';
import type { SeoController } from '../controllers/seo.controller.js';
import { routes } from '../paths.js';
import { sitemapFileParams } from '../validators/common.js';

export function seoRouter(seo: SeoController): Router {
  return Router()
    .get(routes.robots, seo.robots)
    .get(routes.sitemaps.index, seo.sitemapIndex)
    .get(routes.sitemaps.pages, seo.pages)
    .get(routes.sitemaps.file, sitemapFileParams, seo.sitemapFile);
}
