import type { RequestHandler } from 'express';

/** What every page reads about its request, and how a personal page may be kept. */
export const pageLocals: RequestHandler = (req, res, next) => {
  res.locals.currentPath = req.originalUrl;
  // Pages for a logged-in person stay out of shared caches and the back-forward cache.
  if (req.user) res.setHeader('Cache-Control', 'no-store');
  next();
};
