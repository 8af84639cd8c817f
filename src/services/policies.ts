// Who may do what: every authorization decision of the app is made here.
import type { Role } from '../models/fields.js';

export interface Actor {
  readonly id: number;
  readonly role: Role;
}

const isAdmin = (actor: Actor | undefined): boolean => actor?.role === 'admin';

export const can = {
  viewPost: (actor: Actor | undefined, post: { authorId: number; published: boolean }): boolean =>
    post.published || can.editPost(actor, post),
  editPost: (actor: Actor | undefined, post: { authorId: number }): boolean =>
    actor !== undefined && (isAdmin(actor) || actor.id === post.authorId),
  // Under published posts only, by anyone logged in.
  comment: (actor: Actor | undefined, post: { published: boolean }): boolean => actor !== undefined && post.published,
  // A comment says what its writer said: no one else rewrites it, not even an admin.
  editComment: (actor: Actor | undefined, comment: { authorId: number }): boolean => actor?.id === comment.authorId,
  // Its writer, the post's author (their page), or an admin (moderation).
  deleteComment: (actor: Actor | undefined, comment: { authorId: number }, post: { authorId: number }): boolean =>
    actor !== undefined && (isAdmin(actor) || actor.id === comment.authorId || actor.id === post.authorId),
  editUser: (actor: Actor | undefined, user: { id: number }): boolean =>
    actor !== undefined && (isAdmin(actor) || actor.id === user.id),
  changeRole: (actor: Actor | undefined): boolean => isAdmin(actor),
  // Only the account's owner, who knows the current password; admins cannot set it.
  changePassword: (actor: Actor | undefined, user: { id: number }): boolean => actor?.id === user.id,
  seeEmails: (actor: Actor | undefined): boolean => isAdmin(actor),
  // An admin mails someone a reset link (never to themselves: they know their password).
  sendPasswordReset: (actor: Actor | undefined, user: { id: number }): boolean =>
    isAdmin(actor) && actor?.id !== user.id,
};
