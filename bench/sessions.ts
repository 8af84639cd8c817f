// Logged-in sessions for the writes, made over HTTP as a browser makes them.
import { DEMO_PASSWORD } from '../src/demo.js';
import { csrfTokenIn } from '../test/helpers/browser.js';
import { FORWARDED_HEADERS } from './app.js';

export interface Session {
  username: string;
  /** The Cookie header value: `sid=…`. */
  cookie: string;
  /** The session's CSRF token, sent as `_csrf` with every form. */
  csrf: string;
}

function sessionCookie(res: Response): string | undefined {
  for (const header of res.headers.getSetCookie()) {
    const pair = header.split(';')[0]?.trim();
    if (pair?.startsWith('sid=')) return pair;
  }
  return undefined;
}

async function get(origin: string, path: string, cookie?: string): Promise<Response> {
  return fetch(origin + path, {
    redirect: 'manual',
    headers: { ...FORWARDED_HEADERS, ...(cookie ? { cookie } : {}) },
  });
}

/** GET /login (token + cookie), POST /login (303, new cookie), then the new session's token. */
export async function logIn(origin: string, username: string): Promise<Session> {
  const form = await get(origin, '/login');
  const anonymousCookie = sessionCookie(form);
  if (form.status !== 200 || !anonymousCookie) throw new Error(`GET /login answered ${form.status} without a cookie`);
  const res = await fetch(`${origin}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { ...FORWARDED_HEADERS, cookie: anonymousCookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: csrfTokenIn(await form.text()), login: username, password: DEMO_PASSWORD }),
  });
  await res.arrayBuffer();
  const cookie = sessionCookie(res);
  if (res.status !== 303 || !cookie) throw new Error(`login as ${username} answered ${res.status}, not 303`);
  // Any page has the logout form, with the token of the (regenerated) session.
  const page = await get(origin, '/', cookie);
  if (page.status !== 200) throw new Error(`GET / as ${username} answered ${page.status}`);
  return { username, cookie, csrf: csrfTokenIn(await page.text()) };
}

/** Publishes one post as a browser would, following the redirect: checks the write path works. */
export async function writeOnce(origin: string, session: Session): Promise<void> {
  const res = await fetch(`${origin}/posts`, {
    method: 'POST',
    redirect: 'manual',
    headers: { ...FORWARDED_HEADERS, cookie: session.cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      _csrf: session.csrf,
      title: `Warm-up post by ${session.username}`,
      body: 'Checking that the write path answers 303 before the load starts.',
      published: 'on',
    }),
  });
  await res.arrayBuffer();
  const location = res.headers.get('location');
  if (res.status !== 303 || !location) throw new Error(`POST /posts as ${session.username} answered ${res.status}`);
  const shown = await get(origin, location, session.cookie);
  await shown.arrayBuffer();
  if (shown.status !== 200) throw new Error(`GET ${location} after a write answered ${shown.status}`);
}
