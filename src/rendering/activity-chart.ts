import type { WeekActivity } from '../services/posts.service.js';

const BAR_WIDTH = 9;
const BAR_GAP = 3;
const CHART_HEIGHT = 80;
const LABEL_SPACE = 16;

export interface ActivityChart {
  width: number;
  height: number;
  baseline: number;
  bars: { x: number; y: number; height: number; label: string }[];
  months: { x: number; label: string }[];
  summary: string;
}

const weekFormat = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  timeZone: 'UTC',
});
const monthFormat = new Intl.DateTimeFormat('en-GB', { month: 'short', timeZone: 'UTC' });

const posts = (count: number): string => `${count} ${count === 1 ? 'post' : 'posts'}`;

/** The geometry and the words of a profile's weekly-posts bar chart, drawn as inline SVG. */
export function activityChart(weeks: WeekActivity[]): ActivityChart {
  const most = Math.max(1, ...weeks.map((week) => week.posts));
  const step = BAR_WIDTH + BAR_GAP;
  const bars = weeks.map((week, i) => {
    // A week with posts is at least 3 units tall, so that one post among many still shows.
    const height = week.posts === 0 ? 0 : Math.max(3, Math.round((week.posts / most) * CHART_HEIGHT));
    return {
      x: i * step,
      y: CHART_HEIGHT - height,
      height,
      label: `Week of ${weekFormat.format(new Date(week.weekStart))}: ${posts(week.posts)}`,
    };
  });
  const months: ActivityChart['months'] = [];
  weeks.forEach((week, i) => {
    const start = new Date(week.weekStart);
    const previous = i > 0 ? new Date(weeks[i - 1]!.weekStart) : undefined;
    if (previous && start.getUTCMonth() !== previous.getUTCMonth()) {
      months.push({ x: i * step, label: monthFormat.format(start) });
    }
  });

  const total = weeks.reduce((sum, week) => sum + week.posts, 0);
  const busiest = weeks.reduce<WeekActivity | undefined>(
    (best, week) => (week.posts > (best?.posts ?? 0) ? week : best),
    undefined,
  );
  const activeWeeks = weeks.filter((week) => week.posts > 0).length;
  const summary =
    total === 0 || !busiest
      ? 'No posts published in the last 12 months.'
      : `${posts(total)} published in the last 12 months, in ${activeWeeks} of ${weeks.length} weeks. ` +
        `Busiest week: the week of ${weekFormat.format(new Date(busiest.weekStart))}, with ${posts(busiest.posts)}.`;

  return {
    width: weeks.length * step - BAR_GAP,
    height: CHART_HEIGHT + LABEL_SPACE,
    baseline: CHART_HEIGHT,
    bars,
    months,
    summary,
  };
}
