import type { Request, Response } from 'express';
import { activityChart } from '../rendering/activity-chart.js';
import { atomFeed, originOf } from '../rendering/feeds.js';
import type { DeleteForm } from '../validators/users.validator.js';
import { currentUser, logIn, logOut } from '../middleware/auth.js';
import { SESSION_COOKIE } from '../middleware/session.js';
import { paths } from '../paths.js';
import { logSecurityEvent } from '../security/audit.js';
import { can } from '../services/policies.js';
import type { PostsService } from '../services/posts.service.js';
import { type EditableUser, pendingEmailOf, type UsersService } from '../services/users.service.js';
import { formData, listQuery, urlData } from '../validators/common.js';
import type { PasswordForm, ProfileForm } from '../validators/users.validator.js';
import { saveForm, typedValues } from './form.js';

const PROFILE_FIELDS = ['displayName', 'email', 'bio', 'website', 'github', 'role'] as const;

const FEED_ENTRIES = 20;

const monthYear = new Intl.DateTimeFormat('en-GB', { month: 'long', year: 'numeric', timeZone: 'UTC' });
const dayMonthYear = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeZone: 'UTC' });

/** A profile's summary for search engines and link previews: the bio, else what its dates say. */
export function profileDescription(
  user: { displayName: string; bio: string; createdAt: Date },
  lastPostAt: Date | null,
): string {
  const bio = user.bio.replace(/\s+/g, ' ').trim();
  if (bio) return bio;
  const since = `${user.displayName} writes on Users and posts, a member since ${monthYear.format(user.createdAt)}`;
  return lastPostAt ? `${since}; last published on ${dayMonthYear.format(lastPostAt)}.` : `${since}.`;
}

export function createUsersController(
  users: UsersService,
  posts: PostsService,
  options: { publicUrl: string | undefined },
) {
  type ProfileValues = Record<(typeof PROFILE_FIELDS)[number], string>;

  function storedValues(user: EditableUser): ProfileValues {
    return {
      displayName: user.displayName,
      email: user.email,
      bio: user.bio,
      website: user.profile.website ?? '',
      github: user.profile.github ?? '',
      role: user.role,
    };
  }

  const origin = (req: Request): string => originOf(req, options.publicUrl);

  /** The edit page: the profile form, the password form for the account's owner, the delete form. */
  function renderForm(
    req: Request,
    res: Response,
    status: number,
    user: EditableUser,
    form: {
      values?: ProfileValues;
      errors?: Record<string, string>;
      passwordErrors?: Record<string, string>;
      deleteErrors?: Record<string, string>;
    } = {},
  ): void {
    res.status(status).render('users/form', {
      title: `Edit ${user.username}`,
      user,
      values: form.values ?? storedValues(user),
      errors: form.errors ?? {},
      passwordErrors: form.passwordErrors ?? {},
      deleteErrors: form.deleteErrors ?? {},
      pendingEmail: pendingEmailOf(user),
      isOwner: req.user?.id === user.id,
      canChangeRole: can.changeRole(req.user),
      canChangePassword: can.changePassword(req.user, user),
    });
  }

  return {
    index: async (req: Request, res: Response): Promise<void> => {
      const { position, q, searchError } = listQuery(req);
      const showEmails = can.seeEmails(req.user);
      if (searchError) {
        res.status(422).render('users/index', { title: 'Users', result: { items: [] }, q, searchError, showEmails });
        return;
      }
      const result = await users.list({ position, q, viewer: req.user });
      res.render('users/index', {
        title: q ? `Users matching “${q}”` : 'Users',
        description: 'The people who write on Users and posts.',
        result,
        q,
        showEmails,
      });
    },

    show: async (req: Request, res: Response): Promise<void> => {
      const { username } = urlData<{ username: string }>(req);
      const { position } = listQuery(req);
      // Its owner and admins see whether the address is confirmed: read only for them.
      const mayEdit =
        req.user !== undefined && (req.user.role === 'admin' || req.user.username === username.toLowerCase());
      const user = await users.findProfile(username, mayEdit);
      const isOwner = req.user?.id === user.id;
      const [postsPage, lastPostAt, weeks] = await Promise.all([
        posts.listByAuthor({ authorId: user.id, includeDrafts: isOwner, position }),
        posts.lastPublishedAt(user.id),
        posts.weeklyActivity(user.id),
      ]);
      const canEdit = can.editUser(req.user, user);
      const description = profileDescription(user, lastPostAt);
      res.render('users/show', {
        title: user.displayName,
        description,
        canonicalPath: paths.users.show(user.username, { ...position }),
        share: {
          type: 'profile',
          title: user.displayName,
          description,
          path: paths.users.show(user.username),
          username: user.username,
        },
        user,
        postsPage,
        lastPostAt,
        activity: activityChart(weeks),
        feed: { title: `${user.displayName}: posts`, href: paths.users.feed(user.username) },
        isOwner,
        canEdit,
        // Whether the address is confirmed: for the account's owner and admins only.
        emailConfirmed: canEdit ? user.emailConfirmedAt !== null : undefined,
        canSendReset: can.sendPasswordReset(req.user, user),
      });
    },

    feed: async (req: Request, res: Response): Promise<void> => {
      const { username } = urlData<{ username: string }>(req);
      const user = await users.findProfile(username);
      const entries = await posts.feedEntries({ limit: FEED_ENTRIES, authorId: user.id });
      res.type('application/atom+xml').send(
        atomFeed({
          origin: originOf(req, options.publicUrl),
          title: `${user.displayName} on Users and posts`,
          description: `The newest posts by ${user.displayName} (@${user.username}).`,
          feedPath: paths.users.feed(user.username),
          pagePath: paths.users.show(user.username),
          posts: entries,
          author: { name: user.displayName, path: paths.users.show(user.username) },
        }),
      );
    },

    edit: async (req: Request, res: Response): Promise<void> => {
      const { username } = urlData<{ username: string }>(req);
      const user = await users.findEditable(username, currentUser(req));
      renderForm(req, res, 200, user);
    },

    update: async (req: Request, res: Response): Promise<void> => {
      const { username } = urlData<{ username: string }>(req);
      const actor = currentUser(req);
      const user = await users.findEditable(username, actor);
      const roleBefore = user.role;
      const saved = await saveForm(
        req,
        (status, errors) => renderForm(req, res, status, user, { values: typedValues(req, PROFILE_FIELDS), errors }),
        () => users.updateProfile(user, formData<ProfileForm>(req), actor, origin(req)),
      );
      if (!saved) return;
      if (user.role !== roleBefore) {
        logSecurityEvent(req, 'role_changed', {
          actorId: actor.id,
          target: { user: user.id },
          from: roleBefore,
          to: user.role,
        });
      }
      if (saved.pendingEmail) {
        logSecurityEvent(req, 'email_change_requested', { actorId: actor.id, target: { user: user.id } });
        req.flash(
          'success',
          `The profile is saved. We sent a link to ${saved.pendingEmail}: the address changes when it is followed, ` +
            `and stays ${user.email} until then.`,
        );
      } else req.flash('success', 'The profile is saved.');
      res.redirect(303, paths.users.show(user.username));
    },

    /** An admin mails the account a link to set a new password. */
    sendPasswordReset: async (req: Request, res: Response): Promise<void> => {
      const { username } = urlData<{ username: string }>(req);
      const actor = currentUser(req);
      const user = await users.findEditable(username, actor, can.sendPasswordReset);
      await users.sendPasswordReset(user, origin(req));
      logSecurityEvent(req, 'password_reset_requested', { actorId: actor.id, target: { user: user.id } });
      req.flash('success', `A link to set a new password was sent to the address of @${user.username}.`);
      res.redirect(303, paths.users.show(user.username));
    },

    changePassword: async (req: Request, res: Response): Promise<void> => {
      const { username } = urlData<{ username: string }>(req);
      const user = await users.findEditable(username, currentUser(req), can.changePassword);
      const changed = await saveForm(
        req,
        (status, passwordErrors) => renderForm(req, res, status, user, { passwordErrors }),
        async () => {
          await users.changePassword(user, formData<PasswordForm>(req), origin(req));
          return true;
        },
      );
      if (!changed) return;
      const actorId = currentUser(req).id;
      logSecurityEvent(req, 'password_changed', { actorId, target: { user: user.id } });
      logSecurityEvent(req, 'sessions_ended', { actorId, target: { user: user.id }, reason: 'password_changed' });
      // Every session of the account ended with the change; this one continues under a new id.
      await logIn(req, user.id);
      req.flash('success', 'Your password is changed. Any other session of your account has been logged out.');
      res.redirect(303, paths.users.show(user.username));
    },

    destroy: async (req: Request, res: Response): Promise<void> => {
      const { username } = urlData<{ username: string }>(req);
      const actor = currentUser(req);
      const user = await users.findEditable(username, actor);
      const deleted = await saveForm(
        req,
        (status, deleteErrors) => renderForm(req, res, status, user, { deleteErrors }),
        async () => {
          await users.destroy(user, actor, formData<DeleteForm>(req).currentPassword);
          return true;
        },
      );
      if (!deleted) return;
      logSecurityEvent(req, 'account_deleted', {
        actorId: actor.id,
        target: { user: user.id, username: user.username },
      });
      logSecurityEvent(req, 'sessions_ended', {
        actorId: actor.id,
        target: { user: user.id },
        reason: 'account_deleted',
      });
      if (user.id === actor.id) {
        // The account's sessions, this one included, are gone from the store already.
        await logOut(req);
        res.clearCookie(SESSION_COOKIE);
        res.redirect(303, paths.home);
        return;
      }
      req.flash('success', `The account ${user.username} and its posts were deleted.`);
      res.redirect(303, paths.users.index());
    },
  };
}

export type UsersController = ReturnType<typeof createUsersController>;
