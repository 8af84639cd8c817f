// The rules of the stored fields, written once: the models' columns and validations, the
// form validators, the cursors in URLs and the forms' maxlength attributes all read them.
// Plain values, so that every layer may import this file (and nothing else of models/).

export const ROLES = ['member', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const PROFILE_LINKS = ['website', 'github'] as const;
export type ProfileLink = (typeof PROFILE_LINKS)[number];

/** 3 to 30 of a-z, 0-9 and _, stored lowercase. */
export const USERNAME_PATTERN = /^[a-z0-9_]{3,30}$/;

/** A tag: 1 to 30 of a-z, 0-9 and -. */
export const TAG_PATTERN = /^[a-z0-9-]{1,30}$/;
/** The most tags a post carries. */
export const MAX_TAGS = 5;

/** The most characters each text field holds. */
export const MAX_LENGTH = {
  username: 30,
  email: 254,
  displayName: 50,
  bio: 1000,
  profileLink: 200,
  title: 200,
  body: 100_000,
  comment: 5000,
  tag: 30,
} as const;
