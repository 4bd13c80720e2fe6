/**
 * Licence facts from the texts the supply-chain check reads: SPDX expressions (npm), licence
 * files (Go modules), Debian copyright files, plus the parsers for `go version -m` and source
 * map paths. Pure: the runner reads the files and runs the commands.
 */

/** How one licence (or expression) stands against the policy's lists. */
export type LicenceStanding = 'allowed' | 'denied' | 'unrecognised';

/** The lists an expression is judged against (from the policy file). */
export interface LicenceLists {
  /** SPDX identifiers accepted as they are. */
  readonly allowed: readonly string[];
  /** Prefixes of identifiers never accepted in anything built into an image (`AGPL`, `SSPL`, `BUSL`). */
  readonly denied: readonly string[];
}

const isDenied = (id: string, lists: LicenceLists): boolean =>
  lists.denied.some((prefix) => id.toUpperCase().startsWith(prefix.toUpperCase()));

/**
 * An SPDX expression's standing: `A OR B` is as good as its best side (the user picks),
 * `A AND B` as bad as its worst (both apply). `WITH` exceptions follow the licence they modify.
 */
export function judgeExpression(expression: string, lists: LicenceLists): LicenceStanding {
  const tokens = expression.replace(/[()]/g, (paren) => ` ${paren} `).trim().split(/\s+/).filter(Boolean);
  let position = 0;
  const rank: Record<LicenceStanding, number> = { allowed: 0, unrecognised: 1, denied: 2 };
  const worse = (a: LicenceStanding, b: LicenceStanding): LicenceStanding => (rank[a] >= rank[b] ? a : b);
  const better = (a: LicenceStanding, b: LicenceStanding): LicenceStanding => (rank[a] <= rank[b] ? a : b);
  const primary = (): LicenceStanding => {
    const token = tokens[position++];
    if (token === '(') {
      const inner = either();
      position++; // ')'
      return inner;
    }
    if (token === undefined) return 'unrecognised';
    if (tokens[position]?.toUpperCase() === 'WITH') position += 2;
    const id = token.replace(/\+$/, '');
    if (isDenied(id, lists)) return 'denied';
    return lists.allowed.includes(id) ? 'allowed' : 'unrecognised';
  };
  const both = (): LicenceStanding => {
    let standing = primary();
    while (tokens[position]?.toUpperCase() === 'AND') {
      position++;
      standing = worse(standing, primary());
    }
    return standing;
  };
  const either = (): LicenceStanding => {
    let standing = both();
    while (tokens[position]?.toUpperCase() === 'OR') {
      position++;
      standing = better(standing, both());
    }
    return standing;
  };
  return tokens.length === 0 ? 'unrecognised' : either();
}

/**
 * The `license` of an npm package.json: a string (SPDX), or the old `licenses: [{ type }]`
 * array, read as `A OR B` (npm's own reading of it). Undefined when neither is there.
 */
export function npmLicence(manifest: { readonly license?: unknown; readonly licenses?: unknown }): string | undefined {
  if (typeof manifest.license === 'string' && manifest.license.trim()) return manifest.license.trim();
  if (manifest.license && typeof manifest.license === 'object' && 'type' in manifest.license) return String(manifest.license.type);
  if (Array.isArray(manifest.licenses)) {
    const types = manifest.licenses.map((entry: unknown) => (entry && typeof entry === 'object' && 'type' in entry ? String(entry.type) : String(entry)));
    if (types.length > 0) return types.length === 1 ? types[0] : `(${types.join(' OR ')})`;
  }
  return undefined;
}

const normalise = (text: string): string => text.toLowerCase().replace(/[\s*#>]+/g, ' ').replace(/[“”"']/g, '').trim();

/**
 * Titles that name a licence; matched near the top of a file only, because licence bodies cite
 * each other (GPL-3.0 names the Affero licence in its section 13, MPL-2.0 names the GPL).
 * Where one title contains another, the longer one is listed first.
 */
const TITLES: readonly (readonly [RegExp, string])[] = [
  [/gnu affero general public license/, 'AGPL-3.0'],
  [/server side public license/, 'SSPL-1.0'],
  [/business source license/, 'BUSL-1.1'],
  [/gnu lesser general public license version 2\.1/, 'LGPL-2.1'],
  [/gnu lesser general public license/, 'LGPL-3.0'],
  [/gnu library general public license/, 'LGPL-2.0'],
  [/gnu general public license version 2/, 'GPL-2.0'],
  [/gnu general public license/, 'GPL-3.0'],
  [/mozilla public license,? version 2\.0/, 'MPL-2.0'],
  [/eclipse public license - v 2\.0|eclipse public license version 2\.0/, 'EPL-2.0'],
  [/apache license,? version 2\.0|apache license version 2\.0|apache license\s+version 2\.0/, 'Apache-2.0'],
  [/creative commons legal code cc0 1\.0 universal|cc0 1\.0 universal/, 'CC0-1.0'],
  [/attribution-sharealike 4\.0 international/, 'CC-BY-SA-4.0'],
  [/attribution 4\.0 international/, 'CC-BY-4.0'],
  [/^isc license/, 'ISC'],
];

/** Phrases of the permissive licences, which have no title of their own. */
const BODIES: readonly (readonly [(text: string) => boolean, string])[] = [
  [(t) => t.includes('apache license') && t.includes('version 2.0'), 'Apache-2.0'],
  [(t) => t.includes('permission is hereby granted, free of charge'), 'MIT'],
  [(t) => /permission to use, copy, modify, and(\/or)? distribute this software for any purpose/.test(t), 'ISC'],
  [(t) => t.includes('redistribution and use in source and binary forms') && /neither the name|names of (its|the) contributors|the name of the author may not/.test(t), 'BSD-3-Clause'],
  [(t) => t.includes('redistribution and use in source and binary forms'), 'BSD-2-Clause'],
  [(t) => t.includes('this is free and unencumbered software released into the public domain'), 'Unlicense'],
  [(t) => t.includes('altered source versions must be plainly marked'), 'Zlib'],
];

/** The SPDX identifier a licence file's text is, or undefined when it isn't recognised. */
export function classifyLicenceText(text: string): string | undefined {
  const normalised = normalise(text);
  const head = normalised.slice(0, 600);
  // The title that comes first names the file; on a tie, the more specific one listed first.
  let best: { at: number; id: string } | undefined;
  for (const [title, id] of TITLES) {
    const at = head.search(title);
    if (at >= 0 && (!best || at < best.at)) best = { at, id };
  }
  if (best) return best.id;
  for (const [matches, id] of BODIES) if (matches(normalised)) return id;
  return undefined;
}

/** What a Debian copyright file says about licences. */
export interface DebianCopyright {
  /** Licence names from its `License:` fields (DEP-5), deduplicated; empty when it isn't machine-readable. */
  readonly licences: readonly string[];
  readonly machineReadable: boolean;
}

/**
 * Licence names in a Debian copyright file that the denied prefixes catch; for a file that
 * isn't machine-readable, the titles of denied licences found in its text.
 */
export function deniedInCopyright(text: string, lists: LicenceLists): string[] {
  const copyright = parseDebianCopyright(text);
  if (copyright.machineReadable) return copyright.licences.filter((name) => isDenied(name, lists));
  const normalised = normalise(text);
  return TITLES.filter(([title, id]) => isDenied(id, lists) && title.test(normalised)).map(([, id]) => id);
}

/** The licences a Debian copyright file names (`License: GPL-2+ or Artistic` gives both). */
export function parseDebianCopyright(text: string): DebianCopyright {
  const machineReadable = /^Format:\s*\S*copyright-format/m.test(text);
  const licences = new Set<string>();
  for (const match of text.matchAll(/^License:[ \t]*(.+)$/gm)) {
    for (const name of match[1]!.split(/\s+(?:or|and)\s+|,\s*/i)) if (name.trim()) licences.add(name.trim());
  }
  return { licences: [...licences].sort(), machineReadable };
}

/** The installed packages in a dpkg status file (`/var/lib/dpkg/status`), name → version. */
export function parseDpkgStatus(text: string): Map<string, string> {
  const installed = new Map<string, string>();
  for (const block of text.split(/\n\s*\n/)) {
    const field = (name: string): string | undefined => new RegExp(`^${name}: (.*)$`, 'm').exec(block)?.[1]?.trim();
    const name = field('Package');
    const version = field('Version');
    if (name && version && / installed$/.test(field('Status') ?? '')) installed.set(name, version);
  }
  return installed;
}

/** A Go module as `go version -m` lists it: the one built (`mod`) or a dependency (`dep`), after replacements. */
export interface GoModule {
  readonly path: string;
  /** The version built; `(devel)` for a main module built from a source tree. */
  readonly version: string;
  readonly main: boolean;
}

/** The modules in `go version -m` output; a `=>` line replaces the module above it. */
export function parseGoVersionM(output: string): GoModule[] {
  const modules: GoModule[] = [];
  for (const line of output.split('\n')) {
    const [kind, path, version] = line.trim().split(/\s+/);
    if (!path) continue;
    if (kind === 'mod' || kind === 'dep') modules.push({ path, version: version ?? '', main: kind === 'mod' });
    else if (kind === '=>' && modules.length > 0) modules[modules.length - 1] = { ...modules.at(-1)!, path, version: version ?? '' };
  }
  return modules;
}

/** The Go module cache's spelling of a module path: capitals become `!` + lower case. */
export const escapeModulePath = (path: string): string => path.replace(/[A-Z]/g, (letter) => `!${letter.toLowerCase()}`);

/**
 * The npm package a bundled source file came from: its name and its folder from the repository
 * root (`../../node_modules/a/node_modules/@b/c/x.js` gives `@b/c` in `node_modules/a/node_modules/@b/c`;
 * the innermost `node_modules` wins). Undefined for the project's own files.
 */
export function packageOfSource(source: string): { readonly name: string; readonly dir: string } | undefined {
  const start = source.indexOf('node_modules/');
  const at = source.lastIndexOf('node_modules/');
  if (at < 0) return undefined;
  const parts = source.slice(at + 'node_modules/'.length).split('/');
  const name = parts[0]?.startsWith('@') ? (parts[1] ? `${parts[0]}/${parts[1]}` : undefined) : parts[0] || undefined;
  return name ? { name, dir: `${source.slice(start, at)}node_modules/${name}` } : undefined;
}

/**
 * The files a Dockerfile copies out of its build stage (`COPY --from=build /out/traefik /usr/local/bin/traefik`):
 * the programs compiled into the image, by their path in it.
 */
export function builtBinaries(dockerfile: string): string[] {
  const paths: string[] = [];
  for (const match of dockerfile.matchAll(/^COPY\s+--from=\S+\s+(.+)$/gm)) {
    const args = match[1]!.trim().split(/\s+/);
    const dest = args.at(-1)!;
    const sources = args.slice(0, -1);
    for (const source of sources) paths.push(dest.endsWith('/') ? `${dest}${source.split('/').at(-1)}` : dest);
  }
  return paths;
}
