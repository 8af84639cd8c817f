import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Actor, can } from '../../src/services/policies.js';

const OWNER_ID = 1;
const everyone = {
  anonymous: undefined,
  owner: { id: OWNER_ID, role: 'member' },
  member: { id: 2, role: 'member' },
  admin: { id: 3, role: 'admin' },
} as const satisfies Record<string, Actor | undefined>;
type Who = keyof typeof everyone;

/** The decision for each kind of visitor, so that one assertion shows the whole row of the table. */
const decide = (decision: (actor: Actor | undefined) => boolean): Record<Who, boolean> => ({
  anonymous: decision(everyone.anonymous),
  owner: decision(everyone.owner),
  member: decision(everyone.member),
  admin: decision(everyone.admin),
});

const published = { authorId: OWNER_ID, published: true };
const draft = { authorId: OWNER_ID, published: false };
const account = { id: OWNER_ID };

describe('can.viewPost', () => {
  test('a published post › everyone, signed in or not', () => {
    assert.deepEqual(
      decide((actor) => can.viewPost(actor, published)),
      { anonymous: true, owner: true, member: true, admin: true },
    );
  });

  test('a draft › only its author and admins', () => {
    assert.deepEqual(
      decide((actor) => can.viewPost(actor, draft)),
      { anonymous: false, owner: true, member: false, admin: true },
    );
  });
});

describe('can.editPost', () => {
  test('a published post › only its author and admins', () => {
    assert.deepEqual(
      decide((actor) => can.editPost(actor, published)),
      { anonymous: false, owner: true, member: false, admin: true },
    );
  });

  test('a draft › only its author and admins', () => {
    assert.deepEqual(
      decide((actor) => can.editPost(actor, draft)),
      { anonymous: false, owner: true, member: false, admin: true },
    );
  });

  test('an admin who wrote the post › allowed', () => {
    assert.equal(can.editPost({ id: 9, role: 'admin' }, { authorId: 9 }), true);
  });
});

describe('can.comment', () => {
  test('a published post › anyone logged in', () => {
    assert.deepEqual(
      decide((actor) => can.comment(actor, published)),
      { anonymous: false, owner: true, member: true, admin: true },
    );
  });

  test('a draft › no one, not even its author', () => {
    assert.deepEqual(
      decide((actor) => can.comment(actor, draft)),
      { anonymous: false, owner: false, member: false, admin: false },
    );
  });
});

// The owner wrote the comment; the post is another member's.
const comment = { authorId: OWNER_ID };
const postOfAnother = { authorId: 4 };

describe('can.editComment', () => {
  test('a comment › only its writer, not an admin', () => {
    assert.deepEqual(
      decide((actor) => can.editComment(actor, comment)),
      { anonymous: false, owner: true, member: false, admin: false },
    );
  });

  test('a comment under their own post › still not the post’s author', () => {
    assert.equal(can.editComment({ id: 4, role: 'member' }, comment), false);
  });
});

describe('can.deleteComment', () => {
  test('a comment under another’s post › its writer and admins', () => {
    assert.deepEqual(
      decide((actor) => can.deleteComment(actor, comment, postOfAnother)),
      { anonymous: false, owner: true, member: false, admin: true },
    );
  });

  test('a comment under their own post › the post’s author too', () => {
    assert.equal(can.deleteComment({ id: 4, role: 'member' }, comment, postOfAnother), true);
  });
});

describe('can.editUser', () => {
  test('an account › only its owner and admins', () => {
    assert.deepEqual(
      decide((actor) => can.editUser(actor, account)),
      { anonymous: false, owner: true, member: false, admin: true },
    );
  });
});

describe('can.changeRole', () => {
  test('anyone but an admin › refused', () => {
    assert.deepEqual(decide(can.changeRole), { anonymous: false, owner: false, member: false, admin: true });
  });
});

describe('can.changePassword', () => {
  test("another's account › only its owner, not even an admin", () => {
    assert.deepEqual(
      decide((actor) => can.changePassword(actor, account)),
      { anonymous: false, owner: true, member: false, admin: false },
    );
  });

  test('an admin on their own account › allowed', () => {
    assert.equal(can.changePassword(everyone.admin, { id: everyone.admin.id }), true);
  });
});

describe('can.seeEmails', () => {
  test('anyone but an admin › refused', () => {
    assert.deepEqual(decide(can.seeEmails), { anonymous: false, owner: false, member: false, admin: true });
  });
});

describe('can.sendPasswordReset', () => {
  test("another's account › only an admin", () => {
    assert.deepEqual(
      decide((actor) => can.sendPasswordReset(actor, account)),
      { anonymous: false, owner: false, member: false, admin: true },
    );
  });

  test('an admin on their own account › refused: they know their password', () => {
    assert.equal(can.sendPasswordReset(everyone.admin, { id: everyone.admin.id }), false);
  });
});

describe('can', () => {
  test('the decisions › exactly the ones tested here', () => {
    // A new decision fails this test until its table is written above.
    assert.deepEqual(Object.keys(can).sort(), [
      'changePassword',
      'changeRole',
      'comment',
      'deleteComment',
      'editComment',
      'editPost',
      'editUser',
      'seeEmails',
      'sendPasswordReset',
      'viewPost',
    ]);
  });
});
