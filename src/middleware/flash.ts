import type { RequestHandler } from 'express';

export interface Flash {
  type: 'success' | 'info' | 'error';
  text: string;
}

/** Messages kept in the session across one redirect, shown by the next page. */
export const flash: RequestHandler = (req, res, next) => {
  req.flash = (type, text) => {
    req.session.flash = [...(req.session.flash ?? []), { type, text }];
  };
  res.locals.flash = req.session.flash ?? [];
  // Only touch the session when there was something to show, so that an anonymous
  // visitor's page view never writes a session row.
  if (req.session.flash) delete req.session.flash;
  next();
};
