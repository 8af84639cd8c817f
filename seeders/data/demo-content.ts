// The demo community loaded by seeders/20261121000100-demo-data.ts. Not a seeder itself:
// sequelize-cli and src/db/migrator.ts only run the files directly under seeders/.
import { DEMO_ADMIN_USERNAME } from '../../src/db/demo';

export interface DemoUser {
  username: string;
  displayName: string;
  bio: string;
  role: 'member' | 'admin';
  profile: { website?: string; github?: string };
  /** Becomes created_at; earlier than any of the user's posts. */
  joinedDaysAgo: number;
}

export interface DemoPost {
  /** A username from DEMO_USERS. */
  author: string;
  title: string;
  /** Markdown. */
  body: string;
  /** When it was published, or for a draft when it was written. Fractions vary the time of day. */
  daysAgo: number;
  draft?: true;
}

// Website links use reserved .example domains so that no real site is linked.
export const DEMO_USERS: DemoUser[] = [
  {
    username: DEMO_ADMIN_USERNAME,
    displayName: 'Site Admin',
    bio: 'Keeps the lights on around here. If something looks broken, write a post about it or send me a message.',
    role: 'admin',
    profile: {},
    joinedDaysAgo: 130,
  },
  {
    username: 'maya_chen',
    displayName: 'Maya Chen',
    bio: 'Home cook, recovering line cook. I write about weeknight food, fermentation experiments and feeding too many people at once.',
    role: 'member',
    profile: { website: 'https://mayacooks.example.com' },
    joinedDaysAgo: 126,
  },
  {
    username: 'tomas_novak',
    displayName: 'Tomáš Novák',
    bio: 'Weekend hiker from Brno. Happiest above the tree line with a flask of tea.',
    role: 'member',
    profile: { website: 'https://tomas-on-foot.example.net' },
    joinedDaysAgo: 121,
  },
  {
    username: 'priya_raman',
    displayName: 'Priya Raman',
    bio: 'Backend engineer. Postgres, TypeScript, and the occasional rant about error handling.',
    role: 'member',
    profile: { website: 'https://priya.example.dev', github: 'https://github.com/example-priya' },
    joinedDaysAgo: 119,
  },
  {
    username: 'olu_adeyemi',
    displayName: 'Olu Adeyemi',
    bio: 'Second-year allotment holder. Mostly growing tomatoes, beans and slugs.',
    role: 'member',
    profile: {},
    joinedDaysAgo: 113,
  },
  {
    username: 'hannah_berg',
    displayName: 'Hannah Berg',
    bio: 'Librarian by day, reader by night. Fond of long novels and short reviews.',
    role: 'member',
    profile: { website: 'https://hannahreads.example.org' },
    joinedDaysAgo: 111,
  },
  {
    username: 'diego_morales',
    displayName: 'Diego Morales',
    bio: 'Slow traveller. I take the train whenever I can and write down what I eat.',
    role: 'member',
    profile: { website: 'https://slowtrains.example.com' },
    joinedDaysAgo: 96,
  },
  {
    username: 'keiko_sato',
    displayName: 'Keiko Sato',
    bio: 'Street and landscape photography, mostly on a fifteen-year-old camera.',
    role: 'member',
    profile: { website: 'https://keikosato.example.jp', github: 'https://github.com/example-keiko' },
    joinedDaysAgo: 93,
  },
  {
    username: 'sam_okafor',
    displayName: 'Sam Okafor',
    bio: 'Collects old computers and writes small interpreters for fun.',
    role: 'member',
    profile: { github: 'https://github.com/example-sam' },
    joinedDaysAgo: 81,
  },
  {
    username: 'lena_fischer',
    displayName: 'Lena Fischer',
    bio: 'Cycles everywhere, bakes on Sundays.',
    role: 'member',
    profile: {},
    joinedDaysAgo: 41,
  },
  {
    username: 'ben_carter',
    displayName: 'Ben Carter',
    bio: 'Mostly here to read. Might write something one day.',
    role: 'member',
    profile: {},
    joinedDaysAgo: 6,
  },
];

export const DEMO_POSTS: DemoPost[] = [
  // ── Site Admin ────────────────────────────────────────────────────────────────────────
  {
    author: DEMO_ADMIN_USERNAME,
    title: 'Welcome to the community blog',
    daysAgo: 118.6,
    body: `Hello, and welcome! This is a small place for people who like to write about the
things they do: cooking, walking, growing, reading, building.

## How it works

- Anyone with an account can write posts. Drafts stay private until you publish them.
- Posts are written in **Markdown**, so you can use headings, lists, links and code blocks.
- Your profile page lists everything you have published.

## A few house rules

1. Be kind. Disagree with ideas, not with people.
2. Write about what you actually did, made or read.
3. No advertising, please.

If you are new to Markdown, the [CommonMark tutorial](https://commonmark.org/help/) takes ten
minutes and covers everything you need.

Happy writing!`,
  },
  {
    author: DEMO_ADMIN_USERNAME,
    title: 'Moderation notes',
    daysAgo: 4.2,
    draft: true,
    body: `Collecting notes before writing this up properly.

- How to report a post (for now: message me)
- What gets removed: spam, personal attacks, anything illegal
- What does *not* get removed: posts I simply disagree with

> TODO: ask a couple of regular writers what they would want from a report button.`,
  },

  // ── Maya Chen: cooking ────────────────────────────────────────────────────────────────
  {
    author: 'maya_chen',
    title: 'The weeknight dal I make every week',
    daysAgo: 115.3,
    body: `If I could only cook one thing for the rest of my life, it would probably be this. It
takes about thirty-five minutes, most of which is the lentils simmering while you do
something else.

## Ingredients (serves 4)

- 250 g red lentils, rinsed until the water runs clear
- 1 onion, finely chopped
- 3 cloves garlic and a thumb of ginger, grated
- 1 tsp each of cumin seeds, ground turmeric and ground coriander
- 1 tin chopped tomatoes
- A big handful of spinach
- Lemon, salt, and a little butter or oil

## Method

1. Simmer the lentils with the turmeric in about 1 litre of water for 20 minutes, stirring
   now and then, until they collapse.
2. Meanwhile, fry the cumin seeds in oil until they crackle, then add the onion and cook
   until *properly* golden, not just soft. This is where the flavour comes from.
3. Add the garlic, ginger and coriander, cook for a minute, then the tomatoes. Let it
   reduce for five minutes.
4. Stir the tomato mixture into the lentils, add the spinach, and season generously.

Finish with a squeeze of lemon. Rice, flatbread, or just a spoon are all fine.`,
  },
  {
    author: 'maya_chen',
    title: 'Why I stopped buying stock cubes',
    daysAgo: 108.8,
    body: `Not for any noble reason: I just realised I was throwing away the ingredients for stock
every single day. Onion ends, carrot peelings, the woody bits of herbs, parmesan rinds. Now
they go into a bag in the freezer, and when the bag is full it goes into a pot with water
for an hour. It costs nothing and it makes risotto taste like a restaurant made it.`,
  },
  {
    author: 'maya_chen',
    title: 'Sourdough, month one: a failure log',
    daysAgo: 101.4,
    body: `Everyone told me sourdough was easy once you got the hang of it. They did not mention how
long getting the hang of it would take. Here is an honest log of my first month.

### Week one: the starter

The starter (named *Gerald*, for reasons) did absolutely nothing for five days, then doubled
overnight, then collapsed. I learned that my kitchen is cold, around 17 °C, and that a warm
spot on top of the fridge makes a huge difference.

### Week two: the bricks

My first three loaves were dense, flat and very sour. The problem, it turns out, was that I
was using the starter long after its peak. Use it when it has doubled and still has a domed
top.

### Week three: the pancake

Over-proofed. I left the dough overnight on the counter instead of in the fridge and it spread
across the tray like a puddle. It made excellent toast anyway.

### Week four: an actual loaf

> Patience is not waiting. Patience is watching the dough instead of the clock.

That line from a baking book finally clicked. I stopped following timings and started looking
for the signs: a jiggly, domed dough with bubbles on the sides of the container. The fourth
week's loaf had an open crumb and a crust that crackled as it cooled. I may have taken forty
photos of it.

Next month: trying a rye blend.`,
  },
  {
    author: 'maya_chen',
    title: 'A short defence of the humble rice cooker',
    daysAgo: 93.1,
    body: `People who cook a lot are sometimes snobbish about single-purpose gadgets. The rice cooker
is the exception I will defend forever. Perfect rice, every time, with zero attention, and it
keeps it warm for an hour while everything else catches up. It also does porridge, steamed
vegetables and, in a pinch, a very respectable congee.`,
  },
  {
    author: 'maya_chen',
    title: 'Chilli crisp, three ways',
    daysAgo: 86.7,
    body: `I made a big jar of chilli crisp last weekend and have been putting it on everything since.
Three favourites so far:

1. **Fried eggs.** Spoon it over the eggs in the last minute of cooking so the oil sizzles.
2. **Vanilla ice cream.** Yes, really. The salt, crunch and warmth work surprisingly well.
3. **Cold noodles.** Toss cooked noodles with chilli crisp, soy sauce, black vinegar and a
   little sugar, then top with cucumber and spring onions.

The recipe I used is adapted from [this one](https://mayacooks.example.com/chilli-crisp), with
more garlic and less sugar.`,
  },
  {
    author: 'maya_chen',
    title: 'Knife skills I wish someone had shown me sooner',
    daysAgo: 77.2,
    body: `I spent years chopping onions badly before working in a kitchen taught me better. None of
this needs an expensive knife; it needs a *sharp* one.

## The claw

Curl the fingertips of your guiding hand under, so your knuckles face the blade. The flat of
the knife rests against them. You cannot cut a fingertip that is tucked away.

## Let the knife do the work

Slice forward and down, not straight down. A rocking motion with the tip on the board is
faster and kinder to your wrist.

## Onions, properly

- Halve through the root, peel, keep the root on.
- Make vertical cuts towards the root without cutting through it.
- Slice across. The root holds everything together until the very end.

## Keep it sharp

A ceramic honing rod before each session and a whetstone every few months. A sharp knife is
safer than a dull one because it goes where you aim it.`,
  },
  {
    author: 'maya_chen',
    title: 'Cooking for twelve without losing your mind',
    daysAgo: 64.5,
    body: `My sister's birthday lunch: twelve people, one oven, two hobs that work properly. It went
well, mostly because of a plan written the night before. This is roughly what it looked like.

| Time  | Task                                        |
|-------|---------------------------------------------|
| 09:00 | Lamb shoulder into the oven, low and slow   |
| 10:00 | Make the dressing and the yoghurt sauce     |
| 11:00 | Roast the vegetables on the top shelf       |
| 12:00 | Cook the grains, keep them warm             |
| 12:45 | Rest the lamb, dress the salads             |
| 13:00 | Serve everything on big platters            |

## What made it work

- **Nothing cooked à la minute.** Every dish was happy to sit for twenty minutes.
- **Room temperature is a serving temperature.** Salads, grains and roasted vegetables are
  all better warm than hot.
- **One dish was bought.** Nobody cares that the dessert came from the bakery.

The one thing I would change: start the washing up *during* the lunch, not after.`,
  },
  {
    author: 'maya_chen',
    title: 'Miso butter everything',
    daysAgo: 51.9,
    body: `Equal parts soft butter and white miso, mashed together with a fork. Keep it in the fridge.
Melt it over corn, stir it through pasta, rub it under chicken skin, put it on toast. That's
the whole post. Go and make some.`,
  },
  {
    author: 'maya_chen',
    title: 'What a month of meal prep taught me',
    daysAgo: 38.3,
    body: `I tried Sunday meal prep for a month, the full boxes-in-the-fridge version. I expected to
either love it or hate it, and ended up somewhere in between.

**The good:** I spent much less money, wasted almost no food and never stood in front of the
fridge at 8 pm wondering what to eat.

**The bad:** By Thursday, I was sick of the sight of the same chicken and rice. Food that was
great on Monday was sad on Friday.

What I do now is prep *components* rather than meals: a pot of grains, a tray of roasted
vegetables, a sauce or two, some cooked beans. Each evening I combine them differently. It
takes the same time on Sunday and it feels like cooking, not reheating.`,
  },
  {
    author: 'maya_chen',
    title: 'Autumn soup: roasted squash and ginger',
    daysAgo: 20.6,
    body: `The first properly cold evening of the year calls for this soup.

1. Roast a cubed butternut squash and a halved onion with oil and salt at 200 °C for 40
   minutes.
2. Blend with a litre of hot stock, a thumb of fresh ginger and a tin of coconut milk.
3. Season with lime juice, salt and a pinch of chilli flakes.

It freezes beautifully. Top with toasted pumpkin seeds and a swirl of chilli crisp if you
still have some.`,
  },
  {
    author: 'maya_chen',
    title: 'Fermentation basics',
    daysAgo: 7.4,
    draft: true,
    body: `Work in progress: a beginner's guide to lacto-fermentation.

## Salt ratio

2% of the weight of vegetables plus water. Weigh everything; don't guess.

## Things to start with

- Sauerkraut
- Quick kimchi
- Fermented hot sauce

*Still need to write the section on what mould is fine and what isn't.*`,
  },
  {
    author: 'maya_chen',
    title: 'A pantry list for new cooks',
    daysAgo: 2.1,
    draft: true,
    body: `Someone asked me what they should buy to get started. My first attempt at a list:

- Good salt (flaky and fine)
- Olive oil and a neutral oil
- Soy sauce, fish sauce, a vinegar or two
- Tinned tomatoes, tinned beans, dried lentils
- Rice, pasta, oats
- Garlic, onions, lemons

Too long? Too short? Need to think about it more.`,
  },

  // ── Tomáš Novák: hiking ───────────────────────────────────────────────────────────────
  {
    author: 'tomas_novak',
    title: 'Three days on the Tatra ridge',
    daysAgo: 112.2,
    body: `I finally walked the main ridge of the Western Tatras this summer, something I had been
putting off for three years. Here is how it went, with some practical notes at the end.

## Day one: Zuberec to the first saddle

The start is gentle, through forest and meadows full of blueberries. The climb gets serious
after the tree line, and by the afternoon I was on the ridge with the whole range laid out
to the east. I camped, legally, lower down at a hut, which I recommend: water, a bench and a
bowl of *kapustnica* (sauerkraut soup) at the end of the day.

## Day two: the long one

Nine hours, five summits, one thunderstorm. The storm came in faster than the forecast
promised, and I spent forty minutes crouched below a saddle waiting for it to pass. Lesson
learned: start at dawn, be off the exposed sections by early afternoon.

## Day three: down to the valley

Tired legs, clear skies, and the best views of the trip. The descent is long and hard on the
knees, so take your poles.

## Practical notes

- Huts need booking weeks ahead in July and August.
- Carry at least 2 litres of water; there is none on the ridge itself.
- The chains on the steeper sections are solid, but gloves help.
- Check the [mountain weather forecast](https://tomas-on-foot.example.net/weather) every
  morning, not just the night before.`,
  },
  {
    author: 'tomas_novak',
    title: 'My lightweight packing list, with weights',
    daysAgo: 96.4,
    body: `People keep asking what I carry on overnight trips, so here it is. Base weight (everything
except food, water and fuel) is about 6.8 kg.

| Item                         | Weight |
|------------------------------|-------:|
| Tent (single wall, one pole) |  880 g |
| Sleeping bag (down, 0 °C)    |  720 g |
| Sleeping mat (inflatable)    |  410 g |
| Backpack (45 l)              | 1050 g |
| Stove, pot, lighter          |  340 g |
| Rain jacket                  |  290 g |
| Warm layer (fleece)          |  330 g |
| First aid and repair kit     |  210 g |

A few things I **don't** skimp on: the rain jacket, the first aid kit, and a paper map. The
phone is a great navigation tool right up until the battery dies in the cold.`,
  },
  {
    author: 'tomas_novak',
    title: 'Blisters: what actually worked',
    daysAgo: 80.1,
    body: `For years I got blisters on the same spot on my left heel on every long hike. I tried
thicker socks, thinner socks, new boots, old boots. What finally fixed it:

- Taping the heel *before* starting, not when it started to hurt.
- Lacing the boots with a heel-lock knot so the heel can't slide.
- Changing into dry socks at lunch.

Three summers blister-free now. Your feet may differ, but start with the tape.`,
  },
  {
    author: 'tomas_novak',
    title: 'Reading a topographic map in ten minutes',
    daysAgo: 59.7,
    body: `Contour lines scare people off, but you only need three ideas to read a topographic map.

1. **Each line joins points of the same height.** Walk along a line and you stay level.
2. **Close lines mean steep ground.** Lines far apart mean gentle slopes.
3. **V shapes point uphill in valleys, downhill on ridges.** A stream always sits in the V
   that points uphill.

That's it. Next time you plan a route, look at how many lines it crosses and how close
together they are. You'll know where the hard part is before you get there.

> The map is not the territory, but it is a very good guess.`,
  },
  {
    author: 'tomas_novak',
    title: 'A wet weekend in the Lake District',
    daysAgo: 33.5,
    body: `It rained. It rained on Friday evening when we arrived, all of Saturday, and most of Sunday.
We walked anyway, because the alternative was sitting in the youth hostel drying socks on the
radiator.

The fells in the rain are a different place: waterfalls everywhere, the tarns grey and
still, nobody else on the paths. We did a short loop from Grasmere up to Easedale Tarn and
back, and a longer one on Sunday when it eased off a little.

I would not recommend it as a holiday plan, but I would not trade it either.`,
  },
  {
    author: 'tomas_novak',
    title: 'Winter hiking: where I draw the line',
    daysAgo: 9.3,
    body: `With snow already on the higher peaks, a note to myself as much as anyone. I walk in winter,
but I have rules:

- **No crampons, no icy ridges.** If I haven't packed them, I turn back at the first ice.
- **Daylight is the budget.** Turn around at half the remaining daylight, no matter what.
- **Someone always knows the route** and the time I expect to be back.
- **Avalanche forecast above level 2 means valleys only.**

None of this is heroic, and that's the point.`,
  },
  {
    author: 'tomas_novak',
    title: 'Trail snacks, ranked',
    daysAgo: 1.6,
    draft: true,
    body: `1. Salted peanuts
2. Dark chocolate (not in summer)
3. Dried apricots
4. Cheese and rye bread
5. Energy gels (only in emergencies)

Need to write the reasoning for each one. And a section on why trail mix is overrated.`,
  },

  // ── Priya Raman: programming ──────────────────────────────────────────────────────────
  {
    author: 'priya_raman',
    title: 'A partial index saved our dashboard',
    daysAgo: 110.4,
    body: `Our admin dashboard had one slow query: "show the 50 most recent open tickets". The
tickets table has a few million rows, but only a few hundred are ever open at once.

The original index covered every row:

\`\`\`sql
CREATE INDEX tickets_created_at_idx ON tickets (created_at DESC);
\`\`\`

Postgres would walk it from the newest ticket backwards, filtering out closed tickets one by
one, until it found 50 open ones. On a bad day that meant reading hundreds of thousands of
index entries.

A **partial index** only contains the rows that match its condition:

\`\`\`sql
CREATE INDEX tickets_open_created_at_idx
  ON tickets (created_at DESC)
  WHERE status = 'open';
\`\`\`

Now the index *is* the list of open tickets, already in order. The query went from around
900 ms to under 2 ms, and the index is tiny.

The one thing to remember: the query's \`WHERE\` clause must imply the index's condition, or
the planner will not use it. \`status = 'open'\` matches; \`status IN ('open', 'pending')\` does
not.`,
  },
  {
    author: 'priya_raman',
    title: "Stop catching errors you can't handle",
    daysAgo: 99.2,
    body: `I review a lot of code that looks like this:

\`\`\`ts
async function loadUser(id: number) {
  try {
    return await db.users.findByPk(id);
  } catch (error) {
    console.log(error);
    return null;
  }
}
\`\`\`

It feels safe. It isn't. A dropped database connection now looks exactly like "user not
found", and the caller will happily render a 404 page while the real problem goes unnoticed.

## Catch only what you can do something about

- If you can **retry**, catch and retry.
- If you can **translate** the error into something meaningful (a unique constraint becoming
  "that username is taken"), catch that specific error and let the rest through.
- Otherwise, let it propagate to a place that can log it properly and answer with a 500.

\`\`\`ts
async function loadUser(id: number) {
  return db.users.findByPk(id); // null means "not found", and only that
}
\`\`\`

Less code, and the errors end up where someone will see them.`,
  },
  {
    author: 'priya_raman',
    title: 'Notes from turning on TypeScript strict mode',
    daysAgo: 84.6,
    body: `We switched a 40,000-line service to \`"strict": true\` over two weeks. Some notes, in case
you are thinking about doing the same.

### Do it one flag at a time

\`strict\` is a bundle of flags. We enabled \`noImplicitAny\` first, then
\`strictNullChecks\`, then the rest. Each one was a separate pull request, which kept reviews
manageable.

### \`strictNullChecks\` finds real bugs

It found eleven places where we read a property of something that could be \`undefined\`.
Three of them were reachable in production. That alone justified the whole exercise.

### Resist the \`!\`

The non-null assertion operator is tempting when the compiler complains. Every \`!\` we added
"temporarily" is still there. If a value can really never be missing, a small assertion
function that throws with a clear message is much better:

\`\`\`ts
function required<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw new Error(\`\${name} is required\`);
  return value;
}
\`\`\`

### Was it worth it?

Yes. The compiler now catches a class of bugs that our tests never did.`,
  },
  {
    author: 'priya_raman',
    title: 'A tiny shell function I use every day',
    daysAgo: 70.8,
    body: `Make a directory and move into it, in one step:

\`\`\`bash
mkcd() {
  mkdir -p -- "$1" && cd -- "$1"
}
\`\`\`

Put it in your \`~/.bashrc\` or \`~/.zshrc\`. That's all. It has probably saved me hours.`,
  },
  {
    author: 'priya_raman',
    title: 'Reviewing code kindly',
    daysAgo: 46.1,
    body: `A good code review makes the code better *and* makes the author want to open the next pull
request. Some habits that help:

- **Ask, don't command.** "What happens if this list is empty?" invites a conversation;
  "Handle the empty list" ends one.
- **Say what's good.** If a function is clear, say so. Positive comments are information too.
- **Label your nitpicks.** Prefix style comments with *nit:* so the author knows they are
  optional.
- **Review the change, not the person.** "This function" rather than "your function".
- **Approve with comments** when the remaining points are small. Trust people to fix them.

> The goal of a review is a better codebase, not a record of who was right.

And if a thread goes back and forth more than twice, stop typing and have a short call.`,
  },
  {
    author: 'priya_raman',
    title: 'git bisect is underrated',
    daysAgo: 25.7,
    body: `Last week a test started failing and nobody knew which of the last 200 commits broke it.
\`git bisect\` found it in eight steps:

\`\`\`bash
git bisect start
git bisect bad HEAD
git bisect good v2.3.0
# git checks out a commit in the middle; test it, then say:
git bisect good   # or: git bisect bad
\`\`\`

Even better, if you have a command that exits non-zero on failure, git can do the whole search
for you:

\`\`\`bash
git bisect run npm test -- --grep "exports invoices"
\`\`\`

Binary search over history. Eight steps for 200 commits, ten for a thousand. Remember
\`git bisect reset\` at the end.`,
  },
  {
    author: 'priya_raman',
    title: 'Why our tests were slow',
    daysAgo: 11.5,
    draft: true,
    body: `Outline:

1. The suite took 14 minutes
2. Profiling: 70% of the time was creating and dropping databases
3. Fix: one database per worker, each test in a transaction that is rolled back
4. Result: under 3 minutes

Need numbers for step 2 before publishing.`,
  },
  {
    author: 'priya_raman',
    title: 'Feature flags without a vendor',
    daysAgo: 3.4,
    draft: true,
    body: `Thinking about whether a table with three columns is enough:

\`\`\`sql
CREATE TABLE feature_flags (
  name text PRIMARY KEY,
  enabled boolean NOT NULL DEFAULT false,
  updated_at timestamptz NOT NULL DEFAULT now()
);
\`\`\`

Probably yes, for a team of our size. Percentage rollouts are the hard part.`,
  },

  // ── Olu Adeyemi: gardening ────────────────────────────────────────────────────────────
  {
    author: 'olu_adeyemi',
    title: 'My first year on the allotment',
    daysAgo: 105.9,
    body: `A year ago I took over plot 14b, which had been abandoned for two seasons and was mostly
brambles and couch grass. Here is what a first year actually looks like.

## Months one to three: digging

So much digging. I covered half the plot with cardboard and old carpet to kill the weeds and
dug the other half by hand. My neighbour on 15a, who has been there for thirty years, told me
the cardboard half would be easier next year. She was right.

## Months four to six: planting too much

I planted everything. Courgettes, beans, tomatoes, potatoes, lettuce, beetroot, squash,
sweetcorn. About half of it did well.

## What grew well

- Courgettes (far too many, as everyone warned me)
- Runner beans
- Potatoes

## What didn't

- Lettuce, eaten by slugs overnight
- Sweetcorn, eaten by badgers the night before I planned to pick it

Next year: fewer crops, better slug defences, and a proper fence around the corn.`,
  },
  {
    author: 'olu_adeyemi',
    title: 'Tomatoes: what went right and what went wrong',
    daysAgo: 72.3,
    body: `This summer I grew six varieties of tomatoes, four outdoors and two in a small greenhouse.
The greenhouse ones did far better, which surprised nobody except me.

**Went right:** pinching out the side shoots every few days, feeding weekly once the first
flowers set, and watering at the base in the morning.

**Went wrong:** blight arrived in August during a warm, wet week and took the outdoor plants in
four days. Next year I'll try blight-resistant varieties outside and keep the heritage ones
under cover.

Best of the year: *Sungold*, a small orange cherry tomato that tastes like sweets.`,
  },
  {
    author: 'olu_adeyemi',
    title: "Leaf mould: it's just waiting",
    daysAgo: 41.2,
    body: `Collect autumn leaves, stuff them into bin bags, poke a few holes in the bags, wet the
leaves, and leave them behind the shed for two years. You get dark, crumbly leaf mould that
makes a wonderful mulch and seed compost. It is the least effort I have ever put into anything
in the garden.`,
  },
  {
    author: 'olu_adeyemi',
    title: "Saving seeds from this year's beans",
    daysAgo: 15.8,
    body: `I left a few pods on the best runner bean plants to dry on the vine. Once they rattled, I
brought them in, shelled them and spread the beans out on a tray for another two weeks.

A few tips I picked up from the allotment's seed swap:

1. Save from your healthiest plants, not the last pods left over.
2. Make sure the beans are *completely* dry before storing, or they go mouldy.
3. Store them in paper envelopes, labelled with the variety and year.

I ended up with about 200 beans, far more than I need. Plenty to swap next spring.`,
  },
  {
    author: 'olu_adeyemi',
    title: 'Garlic planting plan',
    daysAgo: 5.7,
    draft: true,
    body: `- Bed 3, after the potatoes
- Softneck variety, 20 cloves
- 15 cm apart, rows 30 cm apart
- Plant before the end of the month`,
  },

  // ── Hannah Berg: books ────────────────────────────────────────────────────────────────
  {
    author: 'hannah_berg',
    title: 'Books I reread every winter',
    daysAgo: 103.3,
    body: `Some books are better the second, third or tenth time. These are the ones I take off the
shelf when the evenings get dark.

1. ***The Left Hand of Darkness*** by Ursula K. Le Guin. A winter planet, a slow friendship, and
   the best long journey across ice in fiction.
2. ***Middlemarch*** by George Eliot. Every time I read it I sympathise with a different
   character.
3. ***The Hobbit*** by J. R. R. Tolkien. Pure comfort, and shorter than you remember.
4. ***A Christmas Carol*** by Charles Dickens. Read aloud, ideally, over a few evenings.
5. ***Moominland Midwinter*** by Tove Jansson. Moomintroll wakes up during his family's
   hibernation and has to find his way through a winter he doesn't understand.

What are yours?`,
  },
  {
    author: 'hannah_berg',
    title: "On not finishing books you don't enjoy",
    daysAgo: 68.2,
    body: `For most of my life I finished every book I started, out of a vague sense of duty. Last
year I stopped.

The rule I use now: if I have read fifty pages and I am not looking forward to picking it up
again, it goes back to the library. No guilt. There are more good books than I will ever have
time to read, and every hour spent on a book I dislike is an hour not spent on one I might
love.

The surprising part is that I read *more* now, not less.`,
  },
  {
    author: 'hannah_berg',
    title: 'Notes on Piranesi',
    daysAgo: 55.6,
    body: `Susanna Clarke's *Piranesi* is a short novel about a man who lives in an endless house of
halls and statues, with the sea flooding its lower floors. I read it in two sittings and have
been thinking about it ever since.

> The Beauty of the House is immeasurable; its Kindness infinite.

What I loved most is the narrator's voice: patient, precise and full of wonder, even as the
reader slowly realises that something is very wrong. The mystery is satisfying, but the book
is really about attention, and about what it means to love a place.

If you liked *Jonathan Strange & Mr Norrell* but found it too long, this is the same
imagination in a quarter of the pages.`,
  },
  {
    author: 'hannah_berg',
    title: 'My reading year so far, in numbers',
    daysAgo: 12.4,
    body: `I keep a spreadsheet, because of course I do.

| Category       |  Books |
|----------------|-------:|
| Fiction        |     31 |
| Non-fiction    |     12 |
| Poetry         |      4 |
| **Total read** | **47** |
| Abandoned      |      7 |

Longest: *Middlemarch* (again). Shortest: a 60-page collection of poems by Wisława Szymborska.
Best new discovery: the novels of Penelope Fitzgerald, which are short, funny and devastating.`,
  },
  {
    author: 'hannah_berg',
    title: 'Starting a neighbourhood book swap',
    daysAgo: 8.9,
    draft: true,
    body: `Idea: a small shelf outside the community centre. Take a book, leave a book.

Questions to sort out first:

- Who checks that it doesn't fill up with old phone directories?
- Does it need a roof, or is the porch enough?
- Permission from the centre's committee.`,
  },

  // ── Diego Morales: travel ─────────────────────────────────────────────────────────────
  {
    author: 'diego_morales',
    title: 'Lisbon on foot in three days',
    daysAgo: 90.2,
    body: `Lisbon is built on seven hills and it will remind you of every one of them. Bring
comfortable shoes and walk anyway; it is the best way to see the city.

## Day 1: Alfama and the castle

Get lost in Alfama's alleys in the morning before the crowds, then climb to the castle for the
view. Lunch: grilled sardines at any place with a charcoal grill outside.

## Day 2: Belém

Take the tram out along the river. The monastery is worth the queue, and so are the custard
tarts at the famous bakery, although the ones at the corner café near my guesthouse were just
as good and half the price.

## Day 3: Bairro Alto and the viewpoints

Spend the afternoon hopping between *miradouros*, the city's viewpoints, and end the day in
Bairro Alto listening to fado.

## Tips

- Buy a rechargeable transport card on arrival.
- The famous tram 28 is always packed. Walk the route instead.
- Restaurants put bread and olives on the table: they are not free, but you can send them back.`,
  },
  {
    author: 'diego_morales',
    title: "Night trains are back, and I'm thrilled",
    daysAgo: 62.9,
    body: `I took the night train from Vienna to Venice last month, and I would like everyone to know
that this is the correct way to travel.

You board after dinner, read for a while, fall asleep to the rocking of the carriage, and wake
up to the Alps going past the window. A conductor brings coffee and a bread roll. You arrive
in the city centre, not at an airport an hour away, and you have saved a night in a hotel.

It is not always cheaper than flying, and the couchettes are not luxurious. But I arrived
rested, and I will take that over an early flight every time.`,
  },
  {
    author: 'diego_morales',
    title: 'Packing cubes: a confession',
    daysAgo: 29.4,
    body: `I laughed at packing cubes for years. Then someone gave me a set, and now I can find a clean
pair of socks in a hostel dorm at 6 am without unpacking everything onto the floor. I was
wrong. I apologise to everyone I mocked.`,
  },
  {
    author: 'diego_morales',
    title: 'Food notes from Oaxaca',
    daysAgo: 6.3,
    draft: true,
    body: `Notes to turn into a proper post:

- Mole negro at the market, the best thing I ate all year
- *Tlayudas* at night from a street stand near the zócalo
- Chapulines (grasshoppers): tried them, crunchy and limey, fine
- Hot chocolate made with water, not milk

Need to find the name of the mezcal place.`,
  },

  // ── Keiko Sato: photography ───────────────────────────────────────────────────────────
  {
    author: 'keiko_sato',
    title: 'A month with one prime lens',
    daysAgo: 88.1,
    body: `For the whole of last month I left my zoom lens at home and shot everything with a single
35 mm prime. Some observations:

- **I moved more.** With no zoom ring, the only way to change the framing is to walk.
- **I took fewer photos, and better ones.** The limitation made me think before shooting.
- **Low light stopped being a problem.** At f/1.8 I could shoot indoors without a flash.
- **I missed some shots.** A heron across a river was a grey dot. That's fine.

I'm keeping the zoom for travel, but the prime is now my everyday lens.`,
  },
  {
    author: 'keiko_sato',
    title: 'Golden hour is overrated (sometimes)',
    daysAgo: 57.4,
    body: `Every photography guide tells you to shoot at golden hour, the hour after sunrise and before
sunset. The light is warm and soft and flattering, and it is lovely.

But some of my favourite photographs this year were taken at noon on an overcast day, or in
the blue half-hour after sunset, or in harsh midday sun with deep black shadows across a white
wall. Flat grey light is wonderful for portraits and forests. Hard light makes graphic,
high-contrast street photos.

So go out at golden hour by all means. Just don't leave the camera at home the rest of the day.`,
  },
  {
    author: 'keiko_sato',
    title: 'My simple photo backup routine',
    daysAgo: 17.1,
    body: `I lost a year of photos to a dead hard drive once. Never again. My routine now follows the
**3-2-1 rule**: three copies, on two kinds of storage, one of them off-site.

1. Import from the card to the laptop.
2. Copy to an external drive at home.
3. A nightly job syncs the photo folder to cloud storage.

The nightly job is one line in my crontab:

\`\`\`bash
0 2 * * * rclone sync ~/Pictures/Archive remote:photo-archive --log-file ~/rclone.log
\`\`\`

And once a month, I actually **restore** a random folder to check that the backup works. A
backup you have never restored is only a hope.`,
  },
  {
    author: 'keiko_sato',
    title: 'Film vs digital, again',
    daysAgo: 10.2,
    draft: true,
    body: `Everyone has written this post. Why am I writing it?

Angle: not which is *better*, but how each one changes the way I shoot. Film: 36 frames, slow,
deliberate. Digital: free to experiment, but I never look at most of the photos again.`,
  },

  // ── Sam Okafor: old computers ─────────────────────────────────────────────────────────
  {
    author: 'sam_okafor',
    title: 'Getting a 1989 laptop online',
    daysAgo: 74.6,
    body: `I bought a 1989 laptop at a flea market for the price of a sandwich. It has a 20 MHz
processor, 2 MB of RAM, a monochrome screen and a serial port. Naturally, I wanted to read
this blog on it.

## The plan

1. A null-modem cable from the laptop's serial port to a Raspberry Pi.
2. On the Pi, a small program that pretends to be a dial-up modem and forwards the
   connection to the internet.
3. On the laptop, an old terminal program and a text-mode web browser running on the Pi.

## What went wrong

- The first cable was wired for the wrong kind of serial connection. Twenty minutes of
  garbage characters on screen.
- The laptop's battery had died decades ago, so it only runs when plugged in.
- Most modern websites are several megabytes of JavaScript, which a text browser ignores, so
  many of them are simply blank.

## What worked

Text-heavy pages, like this one, look great. There is something lovely about reading a post
about sourdough on a screen older than the person who wrote it.`,
  },
  {
    author: 'sam_okafor',
    title: 'A tiny stack calculator in Python',
    daysAgo: 3.2,
    body: `Reverse Polish notation calculators are a great first interpreter to write: no parser, no
precedence rules, just a stack. Here's the whole thing:

\`\`\`python
import operator

OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}

def evaluate(expression: str) -> float:
    stack: list[float] = []
    for token in expression.split():
        if token in OPS:
            right, left = stack.pop(), stack.pop()
            stack.append(OPS[token](left, right))
        else:
            stack.append(float(token))
    if len(stack) != 1:
        raise ValueError("malformed expression")
    return stack[0]

print(evaluate("3 4 + 2 *"))  # 14.0
\`\`\`

From here it is a short step to adding \`dup\`, \`swap\`, variables and words of your own, and
then you have most of a Forth.`,
  },

  // ── Lena Fischer ──────────────────────────────────────────────────────────────────────
  {
    author: 'lena_fischer',
    title: 'Cycling to work through a whole winter',
    daysAgo: 35.2,
    body: `Last winter I cycled my 8 km commute every day from November to March. A few things that
made it possible:

- **Lights, front and back, always.** It is dark at both ends of the day.
- **Mudguards.** Not optional.
- **Layers, not a big coat.** You warm up within ten minutes; a thin windproof jacket over a
  wool layer is plenty.
- **Lobster gloves** for the really cold mornings.

On the worst days, with sleet sideways into my face, I wondered why I was doing it. On the
best days, riding along the frozen river with the sun coming up, I couldn't imagine getting to
work any other way.`,
  },
];

export interface DemoComment {
  /** The title of a published post in DEMO_POSTS. */
  post: string;
  /** A username from DEMO_USERS. */
  author: string;
  /** Plain text, as typed. */
  body: string;
  /** How long after the post went out it was written. */
  hoursAfter: number;
}

/** A few conversations under the demo posts, loaded by seeders/…-demo-comments.ts. */
export const DEMO_COMMENTS: DemoComment[] = [
  {
    post: 'Welcome to the community blog',
    author: 'maya_chen',
    body: 'Thanks for setting this up! Looking forward to reading everyone’s posts.',
    hoursAfter: 2.5,
  },
  {
    post: 'Welcome to the community blog',
    author: 'tomas_novak',
    body: 'Is there a way to follow one person’s posts?\n\nA feed would be enough for me.',
    hoursAfter: 5,
  },
  {
    post: 'Welcome to the community blog',
    author: DEMO_ADMIN_USERNAME,
    body: 'There is: every profile has an Atom feed, linked at the top of the page.',
    hoursAfter: 6.2,
  },
  {
    post: 'The weeknight dal I make every week',
    author: 'priya_raman',
    body: 'Made this last night with red lentils and a pinch of asafoetida. Lovely.',
    hoursAfter: 20,
  },
  {
    post: 'The weeknight dal I make every week',
    author: 'maya_chen',
    body: 'Asafoetida is a great addition, I should have mentioned it.',
    hoursAfter: 22.5,
  },
  {
    post: 'Sourdough, month one: a failure log',
    author: 'keiko_sato',
    body: 'Week three was exactly my experience. Keep going, it gets better around week six.',
    hoursAfter: 9,
  },
  {
    post: 'A partial index saved our dashboard',
    author: 'ben_carter',
    body: 'Did you check that the planner still picks it for the parameterised query?\nThat bit us once.',
    hoursAfter: 3,
  },
  {
    post: 'Three days on the Tatra ridge',
    author: 'lena_fischer',
    body: 'Which hut did you stay in on the second night?',
    hoursAfter: 30,
  },
  {
    post: 'Notes on Piranesi',
    author: 'hannah_berg',
    body: 'The House is kind. I keep thinking about that line.',
    hoursAfter: 12,
  },
];

/** The tags of demo posts, by title, loaded by seeders/…-demo-tags.ts. */
export const DEMO_TAGS: Record<string, string[]> = {
  'Welcome to the community blog': ['meta'],
  'The weeknight dal I make every week': ['cooking', 'weeknight-meals', 'vegetarian'],
  'Why I stopped buying stock cubes': ['cooking'],
  'Sourdough, month one: a failure log': ['cooking', 'baking'],
  'A short defence of the humble rice cooker': ['cooking', 'kitchen-tools'],
  'Chilli crisp, three ways': ['cooking', 'fermentation'],
  'Knife skills I wish someone had shown me sooner': ['cooking', 'kitchen-tools'],
  'Cooking for twelve without losing your mind': ['cooking'],
  'What a month of meal prep taught me': ['cooking', 'weeknight-meals'],
  'Autumn soup: roasted squash and ginger': ['cooking', 'vegetarian'],
  'Fermentation basics': ['cooking', 'fermentation'],
  'A pantry list for new cooks': ['cooking'],
  'Three days on the Tatra ridge': ['hiking', 'travel'],
  'My lightweight packing list, with weights': ['hiking', 'gear'],
  'Blisters: what actually worked': ['hiking'],
  'Reading a topographic map in ten minutes': ['hiking', 'maps'],
  'A wet weekend in the Lake District': ['hiking', 'travel'],
  'Trail snacks, ranked': ['hiking', 'cooking'],
  'A partial index saved our dashboard': ['postgresql', 'programming'],
  "Stop catching errors you can't handle": ['programming'],
  'Notes from turning on TypeScript strict mode': ['programming', 'typescript'],
  'git bisect is underrated': ['programming', 'git'],
  'Why our tests were slow': ['programming', 'testing'],
  'My first year on the allotment': ['gardening'],
  'Tomatoes: what went right and what went wrong': ['gardening'],
  "Saving seeds from this year's beans": ['gardening'],
  'Books I reread every winter': ['books'],
  'Notes on Piranesi': ['books'],
  'Lisbon on foot in three days': ['travel'],
  "Night trains are back, and I'm thrilled": ['travel', 'trains'],
  'Food notes from Oaxaca': ['travel', 'cooking'],
  'A month with one prime lens': ['photography', 'gear'],
  'Film vs digital, again': ['photography'],
  'A tiny stack calculator in Python': ['programming', 'python'],
};
