import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { activityChart } from '../../src/rendering/activity-chart.js';
import type { WeekActivity } from '../../src/services/posts.service.js';

const DAY = 86_400_000;
/** Consecutive weeks from the Monday `first` (UTC), with these post counts. */
const weeksFrom = (first: string, counts: number[]): WeekActivity[] =>
  counts.map((posts, i) => ({ weekStart: new Date(Date.parse(`${first}T00:00:00Z`) + i * 7 * DAY), posts }));

describe('activityChart', () => {
  test('no weeks › no bars, no months, the "no posts" summary', () => {
    const chart = activityChart([]);
    assert.deepEqual(chart.bars, []);
    assert.deepEqual(chart.months, []);
    assert.equal(chart.summary, 'No posts published in the last 12 months.');
    assert.equal(chart.height, 96);
    assert.equal(chart.baseline, 80);
  });

  test('weeks without posts › flat bars on the baseline and the "no posts" summary', () => {
    const chart = activityChart(weeksFrom('2025-01-06', [0, 0, 0]));
    assert.deepEqual(chart, {
      width: 33,
      height: 96,
      baseline: 80,
      bars: [
        { x: 0, y: 80, height: 0, label: 'Week of 6 Jan 2025: 0 posts' },
        { x: 12, y: 80, height: 0, label: 'Week of 13 Jan 2025: 0 posts' },
        { x: 24, y: 80, height: 0, label: 'Week of 20 Jan 2025: 0 posts' },
      ],
      months: [],
      summary: 'No posts published in the last 12 months.',
    });
  });

  test('a single post › its week at full height, "1 post" in the singular', () => {
    const chart = activityChart(weeksFrom('2025-01-06', [0, 1, 0]));
    assert.deepEqual(chart.bars[1], { x: 12, y: 0, height: 80, label: 'Week of 13 Jan 2025: 1 post' });
    assert.equal(
      chart.summary,
      '1 post published in the last 12 months, in 1 of 3 weeks. ' +
        'Busiest week: the week of 13 Jan 2025, with 1 post.',
    );
  });

  test('bars › scaled to the busiest week, rounded, at least 3 units when there are posts', () => {
    const chart = activityChart(weeksFrom('2025-01-06', [100, 50, 1, 0, 3, 7]));
    assert.deepEqual(
      chart.bars.map(({ x, y, height }) => ({ x, y, height })),
      [
        { x: 0, y: 0, height: 80 },
        { x: 12, y: 40, height: 40 },
        { x: 24, y: 77, height: 3 },
        { x: 36, y: 80, height: 0 },
        { x: 48, y: 77, height: 3 },
        { x: 60, y: 74, height: 6 },
      ],
    );
    assert.equal(chart.width, 69);
  });

  test('bars › each labelled with its week and its count', () => {
    const chart = activityChart(weeksFrom('2025-01-27', [0, 1, 2]));
    assert.deepEqual(
      chart.bars.map((bar) => bar.label),
      ['Week of 27 Jan 2025: 0 posts', 'Week of 3 Feb 2025: 1 post', 'Week of 10 Feb 2025: 2 posts'],
    );
  });

  test('months › a label at each week whose month differs from the week before, none at the first', () => {
    const chart = activityChart(weeksFrom('2025-01-20', [0, 0, 0, 0, 0, 0, 0]));
    // 20 Jan, 27 Jan, 3 Feb, 10 Feb, 17 Feb, 24 Feb, 3 Mar.
    assert.deepEqual(chart.months, [
      { x: 24, label: 'Feb' },
      { x: 72, label: 'Mar' },
    ]);
  });

  test('months › a new year starts with its January', () => {
    const chart = activityChart(weeksFrom('2025-12-22', [0, 0, 0]));
    assert.deepEqual(chart.months, [{ x: 24, label: 'Jan' }]);
  });

  test('a year of weeks › 52 bars across 621 units, one month label for each month after the first', () => {
    const chart = activityChart(
      weeksFrom(
        '2025-01-06',
        Array.from({ length: 52 }, () => 0),
      ),
    );
    assert.equal(chart.bars.length, 52);
    assert.equal(chart.bars.at(-1)?.x, 612);
    assert.equal(chart.width, 621);
    assert.equal(chart.months.length, 11);
    assert.deepEqual(chart.months[0], { x: 48, label: 'Feb' });
    assert.deepEqual(chart.months.at(-1), { x: 564, label: 'Dec' });
  });

  test('summary › totals, active weeks and the busiest week', () => {
    const chart = activityChart(weeksFrom('2025-01-06', [2, 0, 5, 0, 1]));
    assert.equal(
      chart.summary,
      '8 posts published in the last 12 months, in 3 of 5 weeks. ' +
        'Busiest week: the week of 20 Jan 2025, with 5 posts.',
    );
  });

  test('summary › of weeks tied for busiest, the earliest is named', () => {
    const chart = activityChart(weeksFrom('2025-01-06', [1, 3, 3]));
    assert.equal(
      chart.summary,
      '7 posts published in the last 12 months, in 3 of 3 weeks. ' +
        'Busiest week: the week of 13 Jan 2025, with 3 posts.',
    );
  });

  test('the input › left as it was', () => {
    const weeks = weeksFrom('2025-01-06', [3, 1, 2]);
    const copy = structuredClone(weeks);
    activityChart(weeks);
    assert.deepEqual(weeks, copy);
  });
});
