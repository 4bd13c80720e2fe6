/**
 * The architecture's fallback content ("FALLBACK RESPONSES"), served when a service or one of
 * its dependencies is down. Static on purpose: it must be there when nothing else is. Links
 * point at platform pages or at example.org placeholders an operator replaces.
 */
export interface Link {
  readonly title: string;
  readonly url: string;
}

/** IVOR down: predefined guidance and community resource links (plus cached answers, served by IVOR). */
export const IVOR_FALLBACK = {
  guidance:
    "IVOR can't look that up right now. If you need support today, the community resources below are always available, and you can come back to this chat later.",
  resources: [
    { title: 'Wellbeing and mental health support', url: '/resources/wellbeing' },
    { title: 'Sexual health services', url: '/resources/health' },
    { title: 'Housing advice', url: '/resources/housing' },
    { title: 'Community events', url: '/events' },
  ] satisfies Link[],
};

/** Events down: a static calendar view, contact information and the archive of previous events. */
export const EVENTS_FALLBACK = {
  contact: { email: 'events@example.org', note: 'Write to the events team for anything about an upcoming event.' },
  calendarNote: 'This is a saved calendar view; it may miss recent changes.',
};

/** Newsroom down: cached article summaries, external news sources and community discussion links. */
export const NEWSROOM_FALLBACK = {
  externalSources: [
    { title: 'Community news digest (external)', url: 'https://example.org/news' },
    { title: 'Regional LGBTQ+ press (external)', url: 'https://example.org/press' },
  ] satisfies Link[],
  discussions: [
    { title: 'Community discussion board', url: '/community/discussions' },
    { title: 'Newsletter archive', url: '/community/newsletter' },
  ] satisfies Link[],
};
