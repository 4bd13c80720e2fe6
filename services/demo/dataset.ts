/**
 * The demo data set `make seed` loads through the platform's own APIs: members and an editor,
 * categories, articles with comments and attachments, a few dozen events over the coming
 * months with images, and IVOR conversations. Everything is derived from fixed tables and the
 * month the seed runs in, so two runs on the same data add nothing (the seed matches by
 * e-mail, slug, event title and first question), and no two runs disagree about content.
 */

/** A demo account; its password is generated once per state directory and printed once. */
export interface DemoAccount {
  readonly email: string;
  readonly displayName: string;
  /** Editors publish articles and events; members comment, RSVP and chat with IVOR. */
  readonly role: 'member' | 'editor';
}

export interface DemoEvent {
  readonly title: string;
  readonly description: string;
  /** ISO 8601, UTC. */
  readonly startsAt: string;
  readonly endsAt: string;
  readonly location: string;
  /** The image's colour (RGB): the seed draws a small PNG of it, one per event. */
  readonly imageRgb: readonly [number, number, number];
  /** Which members say they are going (by e-mail). */
  readonly going: readonly string[];
}

export interface DemoArticle {
  readonly slug: string;
  readonly title: string;
  readonly summary: string;
  readonly body: string;
  readonly category: string;
  readonly comments: readonly { readonly by: string; readonly text: string }[];
  /** A plain-text attachment (name and content), when the article has one. */
  readonly attachment?: { readonly name: string; readonly text: string };
}

export interface DemoConversation {
  readonly by: string;
  readonly questions: readonly string[];
}

export interface DemoDataset {
  readonly accounts: readonly DemoAccount[];
  readonly categories: readonly { readonly slug: string; readonly name: string }[];
  readonly articles: readonly DemoArticle[];
  readonly events: readonly DemoEvent[];
  readonly conversations: readonly DemoConversation[];
}

const DOMAIN = 'demo.blkout.localhost';
export const DEMO_EDITOR = `editor@${DOMAIN}`;
const MEMBERS = [`amara@${DOMAIN}`, `kwame@${DOMAIN}`, `jordan@${DOMAIN}`] as const;

const ACCOUNTS: readonly DemoAccount[] = [
  { email: DEMO_EDITOR, displayName: 'Demo Editor', role: 'editor' },
  { email: MEMBERS[0], displayName: 'Amara (demo)', role: 'member' },
  { email: MEMBERS[1], displayName: 'Kwame (demo)', role: 'member' },
  { email: MEMBERS[2], displayName: 'Jordan (demo)', role: 'member' },
];

/** Categories the migrations don't create (community, culture and health exist already). */
const CATEGORIES = [
  { slug: 'arts', name: 'Arts' },
  { slug: 'organising', name: 'Organising' },
] as const;

const SERIES = [
  { title: 'Book Club', location: 'Brixton Library, London', hour: 18, hours: 2, rgb: [120, 60, 160], text: 'This month we read and talk about a novel by a Black queer author. New readers welcome.' },
  { title: 'Movement & Wellbeing Walk', location: 'Victoria Park, London', hour: 11, hours: 2, rgb: [40, 140, 90], text: 'An easy-paced walk and talk, open to all bodies and paces.' },
  { title: 'Community Kitchen', location: 'Hackney Community Centre', hour: 17, hours: 3, rgb: [200, 110, 40], text: 'Cook and eat together; ingredients provided, bring a recipe you love.' },
  { title: 'Organising Workshop', location: 'Online', hour: 19, hours: 2, rgb: [30, 90, 170], text: 'Practical skills for campaigns: meetings, outreach, and looking after each other.' },
  { title: 'Open Mic Night', location: 'Peckham Levels, London', hour: 20, hours: 3, rgb: [180, 40, 80], text: 'Poetry, music and stories from the community. Sign up on the night.' },
  { title: 'Health Drop-in', location: 'Manchester LGBT Centre', hour: 13, hours: 3, rgb: [20, 150, 160], text: 'Confidential sexual health advice and testing with partner organisations.' },
  { title: 'Film Screening', location: 'Rich Mix, London', hour: 19, hours: 3, rgb: [90, 90, 90], text: 'A documentary screening followed by a discussion with the makers.' },
  { title: 'Elders Tea Afternoon', location: 'Birmingham Community Hub', hour: 14, hours: 2, rgb: [150, 120, 60], text: 'Stories and tea with our elders; younger members welcome to listen and share.' },
] as const;

/** How many months of events, from the month after the seed runs. */
const MONTHS = 4;

/** The events: each series once a month for four months, from the first of next month (UTC). */
export function demoEvents(today: Date): DemoEvent[] {
  const events: DemoEvent[] = [];
  for (let month = 0; month < MONTHS; month += 1) {
    const first = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() + 1 + month, 1));
    const monthName = first.toLocaleString('en-GB', { month: 'long', year: 'numeric', timeZone: 'UTC' });
    SERIES.forEach((series, index) => {
      const start = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth(), 2 + index * 3, series.hour));
      events.push({
        title: `${series.title}: ${monthName}`,
        description: series.text,
        startsAt: start.toISOString(),
        endsAt: new Date(start.getTime() + series.hours * 3_600_000).toISOString(),
        location: series.location,
        imageRgb: series.rgb,
        going: MEMBERS.filter((_, member) => (index + month + member) % 3 === 0),
      });
    });
  }
  return events;
}

const ARTICLES: readonly DemoArticle[] = [
  article('welcome-to-the-platform', 'Welcome to the community platform', 'community', 'What the platform is for and how to take part.', [
    [MEMBERS[0], 'So glad this exists. See you at the book club!'],
    [MEMBERS[1], 'Is there a way to suggest events?'],
  ], { name: 'community-guidelines.txt', text: 'Be kind. Assume good faith. Look after each other. Ask before sharing stories that are not yours.\n' }),
  article('spring-gathering-recap', 'Spring gathering: what we heard', 'community', 'A recap of the conversations and plans from the spring gathering.', [[MEMBERS[2], 'The elders panel was the highlight for me.']]),
  article('volunteer-roles-open', 'Volunteer roles open for the new season', 'organising', 'We are looking for hosts, drivers and note-takers.', [[MEMBERS[0], 'I can drive on Saturdays.']], {
    name: 'volunteer-roles.txt',
    text: 'Host: welcome people, keep time.\nDriver: help members reach events.\nNote-taker: keep a record for those who missed it.\n',
  }),
  article('how-we-make-decisions', 'How we make decisions together', 'organising', 'Our consent-based process, explained in five minutes.', []),
  article('sexual-health-services-guide', 'A guide to sexual health services', 'health', 'Where to get tested, PrEP, and confidential advice.', [[MEMBERS[1], 'Thank you for listing the evening clinics.']], {
    name: 'clinics.txt',
    text: 'Evening and weekend clinics, with walk-in times. Check opening hours before you travel.\n',
  }),
  article('looking-after-your-mind', 'Looking after your mind this winter', 'health', 'Small habits, peer support and where to find help.', [[MEMBERS[2], 'The peer support circle helped me a lot.']]),
  article('five-books-this-season', 'Five books to read this season', 'culture', 'The book club picks for the coming months.', [
    [MEMBERS[0], 'Adding all five to my list.'],
    [MEMBERS[2], 'Can we get large-print copies?'],
  ]),
  article('history-month-programme', 'History month: our programme', 'culture', 'Talks, walks and screenings celebrating our history.', []),
  article('open-mic-returns', 'Open mic returns to Peckham', 'arts', 'Poets, singers and storytellers: the stage is yours again.', [[MEMBERS[1], 'Signing up for the first night!']]),
  article('artist-spotlight-collage', 'Artist spotlight: collage and memory', 'arts', 'A conversation with a member about their collage series.', []),
  article('community-kitchen-recipes', 'Recipes from the community kitchen', 'community', 'Three dishes members cooked together, written down.', [[MEMBERS[0], 'The jollof recipe is perfect.']], {
    name: 'recipes.txt',
    text: 'Jollof rice for twelve. Plantain and black bean stew. Coconut rice pudding.\n',
  }),
  article('campaign-update-housing', 'Campaign update: safe housing', 'organising', 'Where the housing campaign stands and how to help.', []),
];

function article(slug: string, title: string, category: string, summary: string, comments: readonly (readonly [string, string])[], attachment?: DemoArticle['attachment']): DemoArticle {
  return {
    slug,
    title,
    summary,
    category,
    body: `${summary} This is demo content from \`make seed\`, written so the pages have something realistic to show. Comments and attachments show how members and editors use the newsroom.`,
    comments: comments.map(([by, text]) => ({ by, text })),
    ...(attachment ? { attachment } : {}),
  };
}

const CONVERSATIONS: readonly DemoConversation[] = [
  { by: MEMBERS[0], questions: ['Where can I find mental health support?', 'Is there peer support near me?'] },
  { by: MEMBERS[1], questions: ['How do I get tested for HIV?'] },
  { by: MEMBERS[2], questions: ['hello, what can you help me with?', 'Tell me about housing support'] },
];

/** The whole data set for a seed run on `today`. */
export function demoDataset(today: Date): DemoDataset {
  return { accounts: ACCOUNTS, categories: CATEGORIES, articles: ARTICLES, events: demoEvents(today), conversations: CONVERSATIONS };
}
