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

  // express-session saves a changed session as the response ends, but a browser may follow
  // the redirect before that save lands, and the next page would miss the message: a
  // redirect carrying one waits for the save.
  const redirect = res.redirect.bind(res) as (status: number, url: string) => void;
  res.redirect = (statusOrUrl: number | string, maybeUrl?: string) => {
    const [status, url] = typeof statusOrUrl === 'number' ? [statusOrUrl, maybeUrl!] : [302, statusOrUrl];
    if (!req.session?.flash?.length) {
      redirect(status, url);
      return;
    }
    req.session.save((error) => {
      // The work this redirect reports is done (a committed write): losing its message
      // must not turn the answer into an error.
      if (error) req.log.warn({ err: error }, 'could not save the flash message before redirecting');
      redirect(status, url);
    });
  };
  next();
};
