import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

/** Every .ts file below `dir`. */
function tsFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((entry) => {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) return entry === 'node_modules' ? [] : tsFiles(path);
      return path.endsWith('.ts') ? [path] : [];
    });
}

/**
 * The relative imports of a module, resolved to files among `known`. TypeScript's own scanner
 * reads them, so `import type`, `export … from` and `import()` all count: a type-only import
 * still couples two modules, and the next edit may make it a value import.
 */
function relativeImports(file: string, known: ReadonlySet<string>): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return importedFiles
    .map((imported) => imported.fileName)
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => resolve(dirname(file), specifier).replace(/\.js$/, '.ts'))
    .flatMap((target) => [target, `${target}.ts`, join(target, 'index.ts')].filter((candidate) => known.has(candidate)).slice(0, 1));
}

/**
 * Import cycles among the .ts files below `dirs`, each as `a.ts -> b.ts -> a.ts` (paths from the
 * repository root, starting at the cycle's first path in sort order). Every cycle a depth-first
 * walk closes is listed, so each tangle shows up at least once.
 */
function findImportCycles(dirs: readonly string[]): string[] {
  const files = dirs.flatMap(tsFiles);
  const known = new Set(files);
  const edges = new Map(files.map((file) => [file, [...new Set(relativeImports(file, known))].sort()]));
  const cycles = new Set<string>();
  const done = new Set<string>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    stack.push(file);
    for (const next of edges.get(file) ?? []) {
      const at = stack.indexOf(next);
      if (at !== -1) cycles.add(describeCycle(stack.slice(at)));
      else if (!done.has(next)) visit(next);
    }
    stack.pop();
    done.add(file);
  };
  for (const file of files) if (!done.has(file)) visit(file);
  return [...cycles].sort();
}

function describeCycle(members: readonly string[]): string {
  const names = members.map((file) => relative(root, file));
  const first = names.indexOf([...names].sort()[0]!);
  const rotated = [...names.slice(first), ...names.slice(0, first)];
  return [...rotated, rotated[0]].join(' -> ');
}

/**
 * The runners' folders and the folders (or single modules) each may import besides itself
 * (services/ is always allowed). A folder not listed is a feature: it may import any runner folder, and none below
 * may import it.
 */
const RUNNER_LAYERS: Readonly<Record<string, readonly string[]>> = {
  core: [],
  engine: ['core'],
  gen: ['core'],
  // The one exception: the compose adapter reads the deployed colors' images.
  clients: ['core', 'stack/deploy-state.ts'],
  stack: ['core', 'clients', 'engine', 'gen'],
};

/** Imports (type-only and dynamic ones too) from a layer folder into a runner folder it may not use, as `from -> to`. */
function runnerLayerViolations(runners: string): string[] {
  const files = tsFiles(runners);
  const known = new Set(files);
  const folderOf = (file: string) => relative(runners, file).split('/')[0]!;
  return files.flatMap((file) => {
    const allowed = RUNNER_LAYERS[folderOf(file)];
    if (!allowed) return [];
    return relativeImports(file, known)
      .filter((target) => folderOf(target) !== folderOf(file) && !allowed.includes(folderOf(target)) && !allowed.includes(relative(runners, target)))
      .map((target) => `${relative(root, file)} -> ${relative(root, target)}`);
  });
}

describe('runner layers', () => {
  it('core/ imports no other runner folder; clients/, engine/ and gen/ only core/; stack/ no feature folder', () => {
    expect(runnerLayerViolations(join(root, 'scripts/runners'))).toEqual([]);
  });

  it('every runner module is in a folder (none at scripts/runners/ itself)', () => {
    expect(readdirSync(join(root, 'scripts/runners')).filter((entry) => entry.endsWith('.ts'))).toEqual([]);
  });
});

describe('import cycles', () => {
  it('services/, scripts/ and stubs/src import without cycles', () => {
    expect(findImportCycles(['services', 'scripts', 'stubs/src'].map((dir) => join(root, dir)))).toEqual([]);
  });

  it('GIVEN modules that import each other in a ring THEN the ring is reported as a path', () => {
    expect(findImportCycles([join(root, 'tests/fixtures/import-cycles')])).toEqual([
      'tests/fixtures/import-cycles/a.ts -> tests/fixtures/import-cycles/b.ts -> tests/fixtures/import-cycles/c.ts -> tests/fixtures/import-cycles/a.ts',
      'tests/fixtures/import-cycles/self.ts -> tests/fixtures/import-cycles/self.ts',
    ]);
  });
});
