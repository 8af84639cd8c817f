// A person with a browser, on the test file's app or on a server process: keeps cookies and CSRF tokens.
import assert from 'node:assert/strict';
import type http from 'node:http';
import type { User } from '../../src/models/index.js';
import { PASSWORD } from './factories.js';
import { type Reply, send, type SendOptions } from './http.js';

/** The hidden CSRF field of the first form on a page, or undefined when it has none. */
export function findCsrfToken(html: string): string | undefined {
  return /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
}

/** The hidden CSRF field of the first form on a page. */
export function csrfTokenIn(html: string): string {
  const token = findCsrfToken(html);
  if (!token) throw new Error('no CSRF token on the page');
  return token;
}

type Fields = Record<string, string | undefined>;

/**
 * The body an HTML form sends: the CSRF token (unless null), PUT/DELETE tunnelled through
 * POST's _method field, and the fields that have a value.
 */
export function formBody(
  token: string | null,
  method: 'POST' | 'PUT' | 'DELETE',
  fields: Fields = {},
): Record<string, string> {
  const form: Record<string, string> = {};
  if (token !== null) form._csrf = token;
  if (method !== 'POST') form._method = method;
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) form[key] = value;
  return form;
}

/** Where a visitor goes: a port on loopback, or anything listening on one (a test app, a server process). */
export type Target = number | { readonly port: number };

type Method = 'POST' | 'PUT' | 'DELETE';

/** How a request goes, beyond what it is: its own headers, a keep-alive agent, a client timeout. */
export type RequestOptions = Pick<SendOptions, 'headers' | 'agent' | 'timeoutMs'>;

/**
 * A person with a browser, speaking HTTP to the app: keeps cookies, and submits forms as
 * HTML does, with the page's CSRF token and PUT/DELETE tunnelled through POST's _method field.
 */
export class Visitor {
  private readonly cookies = new Map<string, string>();
  /** The session's CSRF token kept by logInToPost, for createPost. */
  csrf: string | undefined;

  constructor(
    private readonly target: Target,
    readonly agent?: http.Agent,
  ) {}

  /** A visitor as whom `user` (made by the factories) has logged in. */
  static async loggedIn(target: Target, user: User): Promise<Visitor> {
    const visitor = new Visitor(target);
    await visitor.logIn(user.username);
    return visitor;
  }

  get port(): number {
    return typeof this.target === 'number' ? this.target : this.target.port;
  }

  /** The value of a cookie the app has set and not cleared. */
  cookie(name: string): string | undefined {
    return this.cookies.get(name);
  }

  /** Any request, with the cookies kept so far; the cookies it sets are kept. */
  async request(options: SendOptions): Promise<Reply> {
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const reply = await send(this.port, {
      agent: this.agent,
      ...options,
      headers: { ...(cookie ? { Cookie: cookie } : {}), ...options.headers },
    });
    for (const line of reply.headers['set-cookie'] ?? []) {
      const match = /^([^=;\s]+)=([^;]*)/.exec(line);
      if (!match?.[1]) continue;
      if (match[2] === '' || /expires=Thu, 01 Jan 1970/i.test(line)) this.cookies.delete(match[1]);
      else this.cookies.set(match[1], match[2] ?? '');
    }
    return reply;
  }

  get(path: string, options: RequestOptions = {}): Promise<Reply> {
    return this.request({ path, ...options });
  }

  /** Whether the session belongs to someone: a login-only page answers 200, not 303. */
  async isLoggedIn(): Promise<boolean> {
    const res = await this.get('/posts/new');
    if (res.status === 303) assert.match(String(res.headers.location), /^\/login/);
    return res.status === 200;
  }

  /** The session's current token (the signup form is shown to everyone; the layout shows it too). */
  async csrfToken(): Promise<string> {
    const res = await this.get('/signup');
    return csrfTokenIn(res.body);
  }

  /** A form sent as a browser sends it: with the session's current token unless `csrf` is given (null: none). */
  async submit(
    method: Method,
    path: string,
    fields: Fields = {},
    options: RequestOptions & { csrf?: string | null } = {},
  ): Promise<Reply> {
    const { csrf, ...rest } = options;
    const token = csrf === undefined ? await this.csrfToken() : csrf;
    return this.request({ method: 'POST', path, form: formBody(token, method, fields), ...rest });
  }

  /** Logs in through the form (the page it redirects to, and any message on it, not read yet). */
  async logIn(login: string, password = PASSWORD): Promise<Reply> {
    this.csrf = undefined;
    const res = await this.submit('POST', '/login', { login, password });
    if (res.status !== 303) throw new Error(`login as ${login} failed with ${res.status}`);
    return res;
  }

  /** Logs in and keeps the token of the new session's post form: createPost then sends one request only. */
  async logInToPost(login: string): Promise<void> {
    await this.logIn(login);
    const form = await this.get('/posts/new');
    if (form.status !== 200) throw new Error(`GET /posts/new after login answered ${form.status}`);
    this.csrf = csrfTokenIn(form.body);
  }

  /** POST /posts as the logged-in person (a published post), with the token logInToPost kept. */
  createPost(title: string, options: RequestOptions = {}): Promise<Reply> {
    if (!this.csrf) throw new Error('log in with logInToPost first');
    const fields = { title, body: `The body of ${title}.`, published: 'on' };
    return this.submit('POST', '/posts', fields, { ...options, csrf: this.csrf });
  }
}
