/**
 * The docs stay honest: the README stays a short front page (≤ 200 lines), every `make <target>`
 * the README, ARCHITECTURE.md and docs/*.md name (in code blocks and inline code) is a target of
 * the Makefile, and every relative link among them points at a file that exists, with an
 * `#anchor` that exists in it (GitHub's heading slugs).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const README_MAX_LINES = 200;

/** The README, ARCHITECTURE.md and every page under docs/, as paths relative to the root. */
function docFiles(): string[] {
  const docs = existsSync(join(root, 'docs')) ? readdirSync(join(root, 'docs')).filter((name) => name.endsWith('.md')).sort().map((name) => join('docs', name)) : [];
  return ['README.md', 'ARCHITECTURE.md', ...docs];
}

// ---------------------------------------------------------------------------------------------
// Markdown: code (fenced blocks, inline spans) apart from prose, with line numbers.

interface Snippet { line: number; text: string }
interface Markdown { code: Snippet[]; prose: string; headings: string[] }

const FENCE = /^ {0,3}(`{3,}|~{3,})/;
/** An inline code span: a run of N backticks closed by a run of exactly N, within one paragraph. */
const INLINE_CODE = /(?<!`)(`+)(?!`)((?:(?!\n[ \t]*\n)[\s\S])*?)(?<!`)\1(?!`)/g;

const lineAt = (text: string, index: number) => text.slice(0, index).split('\n').length;

/** Fenced blocks' lines and inline code spans as code; the rest (code blanked, line numbers kept) as prose; ATX headings. */
function parseMarkdown(source: string): Markdown {
  const code: Snippet[] = [];
  const headings: string[] = [];
  let fence: string | undefined;
  const outside = source.split('\n').map((text, index) => {
    const opener = FENCE.exec(text)?.[1];
    if (fence !== undefined) {
      if (opener !== undefined && opener[0] === fence[0] && opener.length >= fence.length && text.trim() === opener) fence = undefined;
      else code.push({ line: index + 1, text });
      return '';
    }
    if (opener !== undefined) {
      fence = opener;
      return '';
    }
    const heading = /^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/.exec(text);
    if (heading) headings.push(heading[1]!);
    return text;
  }).join('\n');
  const prose = outside.replace(INLINE_CODE, (match, _ticks: string, content: string, offset: number) => {
    code.push({ line: lineAt(outside, offset), text: content });
    return match.replace(/[^\n]/g, ' ');
  });
  return { code, prose, headings };
}

// ---------------------------------------------------------------------------------------------
// `make <target>` in code.

/** `make`, then any variable assignments (`FOO=1`) or options, then the target: `make up FOO=1` → `up`. */
const MAKE_CALL = /(?<![\w./-])make(?:[ \t]+(?:[A-Za-z_][A-Za-z0-9_]*=\S*|-\S+))*[ \t]+([A-Za-z0-9_][A-Za-z0-9_.%/-]*)/g;

/** The targets a piece of code runs with make (the first non-assignment word after each `make`). */
function makeTargets(code: string): string[] {
  return [...code.matchAll(MAKE_CALL)].map((match) => match[1]!.replace(/[.]+$/, '')).filter((target) => target !== '');
}

// ---------------------------------------------------------------------------------------------
// The Makefile's targets.

interface MakeRules { targets: Set<string>; patterns: RegExp[]; phony: Set<string> }

const DIRECTIVE = /^(?:-?include|sinclude|ifeq|ifneq|ifdef|ifndef|else|endif|export|unexport|override|vpath|undefine)\b/;

/**
 * Every target the Makefile has a rule for: plain and multi-target lines (`a b: deps`, grouped
 * `a b &: deps`, static patterns `objs: %.o: %.c`), pattern rules (`%.o: %.c`, matched as
 * patterns), and the names `.PHONY` declares. Variable assignments (`X := y`, `X = a:b`,
 * `X ?= y`), recipes, comments, directives and `define … endef` bodies are not rules.
 */
function parseMakefile(text: string): MakeRules {
  const rules: MakeRules = { targets: new Set(), patterns: [], phony: new Set() };
  const logical = text.replace(/\\\n/g, ' ').split('\n');
  let defining = 0;
  for (const raw of logical) {
    if (/^\s*define\b/.test(raw) && !raw.startsWith('\t')) { defining += 1; continue; }
    if (defining > 0) { if (/^\s*endef\b/.test(raw)) defining -= 1; continue; }
    if (raw.startsWith('\t')) continue;
    const line = raw.replace(/#.*$/, '');
    if (line.trim() === '' || DIRECTIVE.test(line.trim())) continue;
    const colon = line.indexOf(':');
    if (colon < 0 || line.slice(0, colon).includes('=')) continue;
    const after = line.slice(colon + 1);
    if (/^:?:?=/.test(after)) continue;
    const names = line.slice(0, colon).replace(/&$/, '').trim().split(/\s+/).filter((name) => name !== '' && name !== '&');
    const prerequisites = after.replace(/^:/, '').split(';')[0]!.trim().split(/\s+/).filter((name) => name !== '');
    for (const name of names) {
      if (name === '.PHONY') prerequisites.forEach((phony) => rules.phony.add(phony));
      if (/^\.[A-Z_]+$/.test(name) || name.includes('$')) continue;
      if (name.includes('%')) rules.patterns.push(new RegExp(`^${name.split('%').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.+')}$`));
      else rules.targets.add(name);
    }
  }
  return rules;
}

const hasRule = (rules: MakeRules, target: string) => rules.targets.has(target) || rules.patterns.some((pattern) => pattern.test(target));

// ---------------------------------------------------------------------------------------------
// Links and anchors.

/** GitHub's anchor for a heading: its text, lower case, without punctuation but `-` and `_`, spaces as `-`. */
function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/`/g, '')
    .replace(/<[^>]+>/g, '')
    .replace(/\*/g, '');
  return text.trim().toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
}

/** The anchors of a page: its headings' slugs (repeats get -1, -2, … as on GitHub) and explicit ids. */
function anchors(markdown: Markdown): Set<string> {
  const seen = new Map<string, number>();
  const found = new Set<string>();
  for (const heading of markdown.headings) {
    const base = slug(heading);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    found.add(count === 0 ? base : `${base}-${count}`);
  }
  for (const match of markdown.prose.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) found.add(match[1]!);
  return found;
}

const INLINE_LINK = /!?\[(?:[^\]\\]|\\.)*\]\(\s*(<[^>]*>|[^\s)]+)(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)/g;
const REFERENCE_LINK = /^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/gm;

/** Every link destination in a page's prose (not in code), with its line. */
function links(markdown: Markdown): Snippet[] {
  return [INLINE_LINK, REFERENCE_LINK].flatMap((pattern) =>
    [...markdown.prose.matchAll(pattern)].map((match) => ({ line: lineAt(markdown.prose, match.index), text: match[1]!.replace(/^<|>$/g, '') })));
}

const markdownOf = new Map<string, Markdown>();
const readMarkdown = (path: string) => {
  if (!markdownOf.has(path)) markdownOf.set(path, parseMarkdown(readFileSync(path, 'utf8')));
  return markdownOf.get(path)!;
};

/** What is wrong with a relative link from `file` (repo-relative): a missing file, or a missing anchor; undefined when fine or external. */
function brokenLink(file: string, destination: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(destination) || destination.startsWith('//')) return undefined;
  const [pathPart = '', anchor] = destination.split('#', 2);
  const source = join(root, file);
  const target = pathPart === '' ? source : resolve(dirname(source), decodeURIComponent(pathPart));
  if (!existsSync(target)) return `${relative(root, target)} does not exist`;
  if (anchor === undefined || anchor === '' || !target.endsWith('.md')) return undefined;
  const known = anchors(readMarkdown(target));
  return known.has(decodeURIComponent(anchor).toLowerCase()) ? undefined : `no heading with anchor #${anchor} in ${relative(root, target)}`;
}

// ---------------------------------------------------------------------------------------------

describe('the helpers', () => {
  it('GIVEN fenced and inline code THEN each make call\'s target, variables skipped; prose and a bare `make` name none', () => {
    const page = parseMarkdown([
      'Run `make up` first; `make` alone lists them. In prose, make sense is not a target.',
      '```sh',
      'make deploy VERSION=1.4.0 FAULT=error=20%   # then make rollback',
      'make OFFLINE=1 images',
      'time make backup TYPE=full',
      '```',
      'Across a line: `make drill-failover',
      'SCENARIO=kill-primary`, and `node --import tsx scripts/deploy.ts` is not make.',
    ].join('\n'));
    expect(page.code.flatMap((snippet) => makeTargets(snippet.text))).toEqual(['deploy', 'rollback', 'images', 'backup', 'up', 'drill-failover']);
    expect(page.code.find((snippet) => snippet.text.startsWith('make drill-failover'))?.line).toBe(7);
  });

  it('GIVEN a Makefile THEN rules, multi-target and grouped lines, patterns and .PHONY names are targets; assignments, recipes and define bodies are not', () => {
    const rules = parseMakefile([
      '.DEFAULT_GOAL := help',
      'TSX := node_modules/.bin/tsx',
      'URL = http://localhost:8080',
      'MODE ?= fast',
      '.PHONY: help up down',
      'help: ## list the targets',
      '\t@echo "make nothing: here"',
      'up down: node_modules',
      'a b &: c',
      'build/%.js: src/%.ts',
      'objs: %.o: %.c',
      'long: one \\',
      '  two',
      'define with_exit_code',
      'if [ $$code -ne 0 ]; then echo "make $@: failed"; fi',
      'endef',
      'node_modules: package.json ; npm ci',
    ].join('\n'));
    expect([...rules.targets].sort()).toEqual(['a', 'b', 'down', 'help', 'long', 'node_modules', 'objs', 'up']);
    expect([...rules.phony].sort()).toEqual(['down', 'help', 'up']);
    expect(hasRule(rules, 'build/app.js')).toBe(true);
    for (const name of ['TSX', 'URL', 'MODE', 'http', 'if', '.PHONY', 'build/app.ts']) expect(hasRule(rules, name), name).toBe(false);
  });

  it('GIVEN headings THEN GitHub\'s anchors: code marks and punctuation dropped, repeats numbered', () => {
    const page = parseMarkdown('# Parity\n## The stack (`make up`)\n## Config: `parity.yaml`\n### Blue/green deploys\n## The edge\'s security layer\n## Notes\n## Notes\n```\n## not a heading\n```\n');
    expect([...anchors(page)]).toEqual(['parity', 'the-stack-make-up', 'config-parityyaml', 'bluegreen-deploys', 'the-edges-security-layer', 'notes', 'notes-1']);
  });
});

describe('the docs', () => {
  const files = docFiles();
  const makeRules = parseMakefile(readFileSync(join(root, 'Makefile'), 'utf8'));

  it(`README.md is a front page: at most ${README_MAX_LINES} lines (the rest lives in docs/)`, () => {
    const lines = readFileSync(join(root, 'README.md'), 'utf8').replace(/\n$/, '').split('\n');
    expect(lines.length).toBeLessThanOrEqual(README_MAX_LINES);
  });

  it('every page under docs/ is linked from the README and from ARCHITECTURE.md', () => {
    const linked = (file: string) => new Set(links(readMarkdown(join(root, file))).map((link) => join(dirname(file), link.text.split('#')[0]!)));
    const pages = files.filter((file) => file.startsWith('docs'));
    expect(pages.length).toBeGreaterThan(0);
    for (const from of ['README.md', 'ARCHITECTURE.md']) expect(pages.filter((page) => !linked(from).has(page)), `pages ${from} does not link`).toEqual([]);
  });

  it('every .PHONY name has a rule (so the parser sees what make sees)', () => {
    expect([...makeRules.phony].filter((name) => !hasRule(makeRules, name))).toEqual([]);
    expect(makeRules.targets.has('up') && makeRules.targets.has('test')).toBe(true);
  });

  it('every `make <target>` the docs name is a target of the Makefile', () => {
    const named = files.flatMap((file) => readMarkdown(join(root, file)).code.flatMap((snippet) => makeTargets(snippet.text).map((target) => ({ where: `${file}:${snippet.line}`, target }))));
    expect(named.filter(({ where }) => where.startsWith('README.md:')).map(({ target }) => target)).toEqual(expect.arrayContaining(['up', 'test']));
    expect(named.filter(({ target }) => !hasRule(makeRules, target)).map(({ where, target }) => `${where} make ${target}`)).toEqual([]);
  });

  it('every relative link points at a file that exists, and its #anchor at a heading there', () => {
    const checked = files.flatMap((file) => links(readMarkdown(join(root, file))).map((link) => ({ where: `${file}:${link.line}`, destination: link.text, problem: brokenLink(file, link.text) })));
    expect(checked.filter(({ destination }) => !/^[a-z][a-z0-9+.-]*:/i.test(destination)).length).toBeGreaterThan(files.length);
    expect(checked.filter(({ problem }) => problem !== undefined).map(({ where, destination, problem }) => `${where} (${destination}): ${problem}`)).toEqual([]);
  });
});
