/**
 * This project's own code bundled for an image (the catalog's `project-bundle` input): one
 * self-contained ESM file per entry (no shared chunks), dependencies included, so the image
 * needs no npm install and each program loads only what its entry reaches.
 */
import { basename, extname, join } from 'node:path';
import type { Metafile } from 'esbuild';
import { repoRoot } from '../core/state.js';

export interface ProjectBundles {
  /** Which source files and packages went into which output (esbuild's metafile, paths from the repository root). */
  readonly metafile: Metafile;
  readonly warnings: readonly string[];
}

/**
 * Bundle `entries` (paths from the repository root) into `outdir`, each to its file name with
 * `.mjs` (`stubs/src/entries/ivor.ts` → `ivor.mjs`) and a linked source map. `write: false`
 * builds in memory only (what a test reads the metafile of).
 */
export async function bundleProject(entries: readonly string[], outdir: string, options: { readonly write?: boolean } = {}): Promise<ProjectBundles> {
  // esbuild is a devDependency: the host that runs the bake has it.
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: Object.fromEntries(entries.map((entry) => [basename(entry, extname(entry)), join(repoRoot, entry)])),
    outdir,
    outExtension: { '.js': '.mjs' },
    absWorkingDir: repoRoot,
    bundle: true,
    splitting: false,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'silent',
    metafile: true,
    write: options.write ?? true,
    // pg's optional native binding isn't installed; the pure-JS client is used.
    external: ['pg-native'],
    // CommonJS dependencies bundled into ESM still call require() for Node's built-ins.
    banner: { js: "import { createRequire as parityCreateRequire } from 'node:module'; const require = parityCreateRequire(import.meta.url);" },
  });
  return { metafile: result.metafile, warnings: result.warnings.map((warning) => warning.text) };
}
