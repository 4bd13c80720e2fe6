/**
 * The engine seam (scripts/runners/clients/compose.ts) is how the runners reach containers,
 * ports, logs and exec; the local engine's own resources (throwaway containers, networks, volumes
 * by label) through the named client clients/docker-host.ts. The modules below may start `docker`
 * themselves, each for the reason given; a new direct call elsewhere fails here: go through the seam (or a named client),
 * or add the module with its reason.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

const ALLOWED: Readonly<Record<string, string>> = {
  'scripts/runners/clients/compose.ts': 'the seam itself: docker compose, and the engine verbs on containers by ID',
  'scripts/runners/clients/postgres.ts': 'named client: psql in a container with the SQL on stdin (docker exec -i, as a user)',
  'scripts/runners/clients/stub-http.ts': "named client: a stub's address on the project network (docker inspect)",
  'scripts/runners/clients/docker-host.ts': "named client: the local engine's own resources (throwaway containers, their networks and volumes, what a project left by label)",
  'scripts/runners/rotate/redis-cli.ts': 'named client: redis-cli in a container with the password on stdin (docker exec -i)',
  'scripts/runners/engine/engine.ts': 'the engine itself: whether it answers, which compose it has',
  'scripts/runners/engine/images.ts': 'image baking: local, pull, inspect',
  'scripts/runners/engine/image-build.ts': 'image baking: build, prune its dangling layers',
  'scripts/runners/engine/local-build.ts': "image baking: a build of a folder outside the catalog (the example service), with the bake's builder",
  'scripts/bench-images.ts': "the images benchmark: removes images and reads the engine's disk use, as engine/ does",
  'scripts/runners/cluster/cluster.ts': "the Swarm target's engines: the node containers on the local engine, and each node's engine through its socket (DOCKER_HOST): swarm, images, stack, services",
  'scripts/runners/supply/supply-collect.ts': 'reads images through created, never started containers (create, cp, rm)',
};

/** The .ts files below scripts/ that start `docker` themselves (an argv or a spawn whose first word is docker). */
function directDockerCallers(): string[] {
  return readdirSync(join(root, 'scripts'), { recursive: true, encoding: 'utf8' })
    .filter((path) => path.endsWith('.ts'))
    .map((path) => join('scripts', path))
    .filter((path) => /(['"`])docker\1\s*[,)]/.test(readFileSync(join(root, path), 'utf8')))
    .sort();
}

/** What modules other than the seam's own import from the Compose implementation (clients/compose.ts), by name. */
function composeImports(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const dir of ['scripts', 'tests']) {
    for (const path of readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })) {
      const file = join(dir, path);
      if (!file.endsWith('.ts') || SEAM.includes(file)) continue;
      for (const match of readFileSync(join(root, file), 'utf8').matchAll(/import (?:type )?\{([^}]*)\} from '[^']*clients\/compose\.js'/g)) {
        found.set(file, match[1]!.split(',').map((name) => name.replace(/^\s*type\s+/, '').trim()).filter(Boolean));
      }
    }
  }
  return found;
}

/** The seam: its interface, its Compose implementation, the choice between implementations, and the implementation's own unit test. */
const SEAM = ['scripts/runners/clients/compose.ts', 'scripts/runners/clients/engine.ts', 'scripts/runners/clients/engine-of.ts', 'tests/unit/compose-target.test.ts'];
/** The local engine's verbs on a container a runner already holds by ID (or one compose doesn't manage). */
const ID_VERBS = ['execIn', 'restartContainers', 'restartContainer', 'startAttached', 'startContainers', 'stopContainer', 'killContainers', 'containerHealth'];

describe('the engine seam', () => {
  it('runners reach services through engineOf(target); from the Compose module they import only the verbs on containers by ID', () => {
    const imports = composeImports();
    expect(imports.size).toBeGreaterThan(0);
    for (const [file, names] of imports) expect({ file, names: names.filter((name) => !ID_VERBS.includes(name)) }).toEqual({ file, names: [] });
  });
});

describe('direct docker calls', () => {
  it('only the seam, the named clients, the engine and the modules listed with a reason start docker themselves', () => {
    expect(directDockerCallers()).toEqual(Object.keys(ALLOWED).sort());
  });
});
