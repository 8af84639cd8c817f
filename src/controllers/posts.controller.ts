import type { Request, Response } from 'express';
import { NotFoundError } from '../errors.js';
import { atomFeed, originOf } from '../rendering/feeds.js';
import { renderMarkdown } from '../rendering/markdown.js';
import { currentUser } from '../middleware/auth.js';
import { paths } from '../paths.js';
import { logSecurityEvent } from '../security/audit.js';
import type { CommentsService } from '../services/comments.service.js';
import { type PostSearch, RECENT_WINDOW, RELEVANCE_POOL } from '../services/post-search.js';
import type { PostsService } from '../services/posts.service.js';
import type { SharedReads } from '../services/shared-reads.js';
import { type FieldErrors, fieldErrors, formData, listQuery, urlData } from '../validators/common.js';
import { type PostForm, postInput } from '../validators/posts.validator.js';
import { saveForm, typedValues } from './form.js';
import { renderPostPage } from './post-page.js';

const HOME_POSTS = 10;

interface FormView {
  title: string;
  body: string;
  published: boolean;
  /** As typed: names separated by commas. */
  tags: string;
}

const FEED_ENTRIES = 20;

export function createPostsController(
  posts: PostsService,
  comments: CommentsService,
  search: PostSearch,
  shared: SharedReads,
  options: { publicUrl: string | undefined },
) {
  function renderForm(
    res: Response,
    status: number,
    locals: { post?: { id: number }; values: FormView; errors?: Record<string, string>; preview?: string },
  ): void {
    res.status(status).render('posts/form', {
      title: locals.post ? 'Edit post' : 'New post',
      post: locals.post,
      values: locals.values,
      errors: locals.errors ?? {},
      preview: locals.preview,
      // The preview stands beside the source: the page needs the width.
      wide: locals.preview !== undefined,
    });
  }

  function typedPost(req: Request): FormView {
    // The published chain has already turned the checkbox into a boolean.
    return {
      ...typedValues(req, ['title', 'body', 'tags'] as const),
      published: (req.body as { published?: unknown } | undefined)?.published === true,
    };
  }

  const previewing = (req: Request): boolean => (req.body as { preview?: unknown } | undefined)?.preview !== undefined;

  /** The form again with what was typed, and the rendered Markdown beside it when previewing. */
  function showForm(req: Request, res: Response, post?: { id: number }) {
    return (status: number, errors?: FieldErrors): void => {
      const values = typedPost(req);
      renderForm(res, status, {
        post,
        values,
        errors,
        preview: previewing(req) ? renderMarkdown(values.body) : undefined,
      });
    };
  }

  /** The Preview button on valid input: the form again (200), nothing saved. */
  function previewOnly(req: Request, res: Response, post?: { id: number }): boolean {
    if (!previewing(req) || fieldErrors(req)) return false;
    showForm(req, res, post)(200);
    return true;
  }

  return {
    home: async (req: Request, res: Response): Promise<void> => {
      const latest = await shared.read('home', req.session.lastWriteAt, () => posts.latest(HOME_POSTS));
      res.render('home', { title: 'Home', posts: latest });
    },

    feed: async (req: Request, res: Response): Promise<void> => {
      const entries = await posts.feedEntries({ limit: FEED_ENTRIES });
      res.type('application/atom+xml').send(
        atomFeed({
          origin: originOf(req, options.publicUrl),
          title: 'Users and posts: latest posts',
          description: 'The newest posts published on Users and posts.',
          feedPath: paths.posts.feed,
          pagePath: paths.posts.index(),
          posts: entries,
        }),
      );
    },

    index: async (req: Request, res: Response): Promise<void> => {
      const { position, q, searchError } = listQuery(req);
      if (q === undefined) {
        // A tag's search box sent empty: that tag's page.
        const { tag } = urlData<{ tag?: string }>(req);
        if (tag) {
          res.redirect(302, paths.tags.show(tag));
          return;
        }
        const result = await shared.read(`posts ${JSON.stringify(position)}`, req.session.lastWriteAt, () =>
          posts.listPublished(position),
        );
        res.render('posts/index', {
          title: 'Posts',
          description: 'The newest posts published on Users and posts, 20 a page.',
          result,
          q,
        });
        return;
      }
      const { order, tag } = urlData<{ order?: 'newest'; tag?: string }>(req);
      const locals = { q, order, tag, recentWindow: RECENT_WINDOW, relevancePool: RELEVANCE_POOL };
      if (searchError) {
        res.status(422).render('posts/search', { ...locals, title: 'Search posts', searchError });
        return;
      }
      // Best matches page by number, newest first by cursor.
      if (!order && (position.after ?? position.before) !== undefined) throw new NotFoundError();
      const result = await search.search(q, order ?? 'relevance', position, tag);
      const title = tag ? `Posts tagged “${tag}” matching “${q}”` : `Posts matching “${q}”`;
      res.render('posts/search', { ...locals, title, description: `${title} on Users and posts.`, result });
    },

    new: (_req: Request, res: Response): void => {
      renderForm(res, 200, { values: { title: '', body: '', published: true, tags: '' } });
    },

    create: async (req: Request, res: Response): Promise<void> => {
      if (previewOnly(req, res)) return;
      const post = await saveForm(req, showForm(req, res), () =>
        posts.create(currentUser(req).id, postInput(formData<PostForm>(req))),
      );
      if (!post) return;
      req.flash('success', post.published ? 'Your post is published.' : 'Your draft is saved.');
      res.redirect(303, paths.posts.show(post.id));
    },

    show: async (req: Request, res: Response): Promise<void> => {
      const { id } = urlData<{ id: number }>(req);
      const post = await posts.findVisible(id, req.user);
      await renderPostPage(req, res, comments, post);
    },

    edit: async (req: Request, res: Response): Promise<void> => {
      const { id } = urlData<{ id: number }>(req);
      const post = await posts.findEditable(id, currentUser(req));
      const tags = (post.tags ?? []).map((tag) => tag.name).join(', ');
      renderForm(res, 200, { post, values: { title: post.title, body: post.body, published: post.published, tags } });
    },

    update: async (req: Request, res: Response): Promise<void> => {
      const { id } = urlData<{ id: number }>(req);
      const post = await posts.findEditable(id, currentUser(req));
      if (previewOnly(req, res, post)) return;
      const saved = await saveForm(req, showForm(req, res, post), () =>
        posts.update(post, postInput(formData<PostForm>(req))),
      );
      if (!saved) return;
      req.flash('success', 'Your changes are saved.');
      res.redirect(303, paths.posts.show(post.id));
    },

    destroy: async (req: Request, res: Response): Promise<void> => {
      const { id } = urlData<{ id: number }>(req);
      const actor = currentUser(req);
      const post = await posts.findEditable(id, actor);
      await posts.destroy(post);
      // Moderation: someone else's post removed (by an admin).
      if (post.authorId !== actor.id) {
        logSecurityEvent(req, 'post_deleted', { actorId: actor.id, target: { post: post.id, author: post.authorId } });
      }
      req.flash('success', `“${post.title}” was deleted.`);
      res.redirect(303, paths.posts.index());
    },
  };
}

export type PostsController = ReturnType<typeof createPostsController>;
