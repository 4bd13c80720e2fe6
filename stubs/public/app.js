// BLKOUT frontend, in the browser: calls the APIs through Traefik (same origin), keeps the
// last good answers in localStorage and shows them when an API can't be reached (offline
// fallback). User text is only ever set with textContent, never as markup.
'use strict';

const CACHE_PREFIX = 'parity-cache:';

async function getJson(url) {
  try {
    const response = await fetch(url, { headers: { accept: 'application/json' } });
    // FALLBACK_HEADER of services/contracts/http.ts: this script is served as is, without imports.
    if (response.status >= 500 && !response.headers.get('x-parity-fallback')) throw new Error(`HTTP ${response.status}`);
    const body = await response.json();
    if (!body.fallback) localStorage.setItem(CACHE_PREFIX + url, JSON.stringify({ at: Date.now(), body }));
    return { body, cached: false };
  } catch (error) {
    const saved = localStorage.getItem(CACHE_PREFIX + url);
    if (!saved) throw error;
    return { body: JSON.parse(saved).body, cached: true };
  }
}

function token() {
  return localStorage.getItem('parity-token');
}

function say(list, who, text, fallback) {
  const item = document.createElement('li');
  item.className = who + (fallback ? ' fallback' : '');
  item.textContent = `${who === 'you' ? 'You' : 'IVOR'}: ${text}`;
  list.appendChild(item);
}

function setupChat() {
  const login = document.getElementById('login');
  const chat = document.getElementById('chat');
  const conversation = document.getElementById('conversation');
  if (!login || !chat || !conversation) return;
  let conversationId;
  login.addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = new FormData(login);
    const response = await fetch('/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: form.get('email'), password: form.get('password') }),
    });
    const body = await response.json();
    if (!response.ok) return say(conversation, 'ivor', body.error, true);
    localStorage.setItem('parity-token', body.accessToken);
    document.cookie = `parity_token=${body.accessToken}; path=/; secure; samesite=strict`;
    say(conversation, 'ivor', `Hello ${body.user.email}, what would you like to know?`, false);
  });
  chat.addEventListener('submit', async (event) => {
    event.preventDefault();
    const message = new FormData(chat).get('message');
    say(conversation, 'you', message, false);
    try {
      const response = await fetch('/api/chat', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token()}` },
        body: JSON.stringify(conversationId ? { message, conversationId } : { message }),
      });
      const body = await response.json();
      if (!response.ok) return say(conversation, 'ivor', body.error, true);
      conversationId = body.conversationId ?? conversationId;
      say(conversation, 'ivor', body.answer, body.fallback);
    } catch {
      const cached = localStorage.getItem(CACHE_PREFIX + '/api/resources');
      say(conversation, 'ivor', 'IVOR is offline right now. Saved community resources are listed below.', true);
      if (cached) for (const resource of JSON.parse(cached).body.resources ?? []) say(conversation, 'ivor', `${resource.title}: ${resource.url}`, true);
    }
  });
}

async function refreshList(selector, url, pick, describe) {
  const section = document.querySelector(selector);
  if (!section) return;
  try {
    const { body, cached } = await getJson(url);
    const items = pick(body);
    if (!items) return;
    const list = document.createElement('ul');
    for (const item of items) {
      const entry = document.createElement('li');
      entry.textContent = describe(item);
      list.appendChild(entry);
    }
    // The section's own list, not the fallback's link list (ul.links).
    section.querySelector('ul:not(.links)')?.replaceWith(list);
    if (cached) section.dataset.offline = 'true';
  } catch {
    section.dataset.offline = 'true';
  }
}

document.addEventListener('DOMContentLoaded', () => {
  setupChat();
  void refreshList('[data-section="events"]', '/api/events?limit=50', (body) => body.events, (event) => `${event.title} · ${event.startsAt.slice(0, 16).replace('T', ' ')} · ${event.location}`);
  void refreshList('[data-section="news"]', '/api/articles?limit=20', (body) => body.articles, (article) => `${article.title}: ${article.summary}`);
  void getJson('/api/resources').catch(() => undefined);
});
