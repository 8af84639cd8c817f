import { Op, type Sequelize } from 'sequelize';
import { NotFoundError } from '../errors.js';
import { modelsOf, type Tag } from '../models/index.js';
import { keysetPage, type Page, type Position } from './pagination.js';

/** Tags on a page of /tags. */
export const TAGS_PAGE_SIZE = 100;

/**
 * A tag's place in /tags (most used first, then by name): "<published posts>-<name>", e.g.
 * "12-weeknight-meals": the count ends at the first dash, names have none before it.
 */
export const TAG_CURSOR = /^(0|[1-9][0-9]{0,9})-([a-z0-9-]{1,30})$/;

/** A tag as /tags lists it. */
export interface UsedTag {
  name: string;
  postsCount: number;
  cursor: string;
}

export function createTagsService(sequelize: Sequelize) {
  const { Tag } = modelsOf(sequelize);

  return {
    /** The tag named `name`, or 404. */
    find(name: string): Promise<Tag> {
      return Tag.findOne({ where: { name }, rejectOnEmpty: new NotFoundError('There is no such tag.') });
    },

    /** The tags published posts carry, the most used first, then by name; by cursor. */
    async popular(position: Position): Promise<Page<UsedTag>> {
      const cursor = (position.after ?? position.before)?.match(TAG_CURSOR);
      const backwards = position.before !== undefined;
      const where = cursor
        ? {
            [Op.or]: [
              { postsCount: { [backwards ? Op.gt : Op.lt]: Number(cursor[1]) } },
              { postsCount: Number(cursor[1]), name: { [backwards ? Op.lt : Op.gt]: cursor[2]! } },
            ],
          }
        : {};
      const rows = await Tag.findAll({
        attributes: ['name', 'postsCount'],
        where: { postsCount: { [Op.gt]: 0 }, ...where },
        order: backwards
          ? [
              ['postsCount', 'ASC'],
              ['name', 'DESC'],
            ]
          : [
              ['postsCount', 'DESC'],
              ['name', 'ASC'],
            ],
        limit: TAGS_PAGE_SIZE + 1,
      });
      const tags = rows.map((tag) => ({
        name: tag.name,
        postsCount: tag.postsCount,
        cursor: `${tag.postsCount}-${tag.name}`,
      }));
      return keysetPage(tags, position, (tag) => tag.cursor, TAGS_PAGE_SIZE);
    },
  };
}

export type TagsService = ReturnType<typeof createTagsService>;
