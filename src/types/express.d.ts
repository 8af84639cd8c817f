import type { SessionUser } from '../services/users.service.js';
import type { Flash } from '../middleware/flash.js';

declare module 'express-session' {
  interface SessionData {
    /** When this session last sent a write (ms): its reads stay on the primary a while after. */
    lastWriteAt?: number;
    userId?: number;
    /** When this session logged in (ms since the epoch): it ends a fixed time later. */
    authenticatedAt?: number;
    flash?: Flash[];
  }
}

declare global {
  namespace Express {
    interface Request {
      /** Who is logged in, loaded once per request by loadCurrentUser. */
      user?: SessionUser;
      flash(type: Flash['type'], text: string): void;
    }
  }
}

export {};
