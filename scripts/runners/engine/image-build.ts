/**
 * Building one catalog image here: the Debian base with debootstrap + import, the rest with
 * `docker build` after staging their inputs (Go modules vendored, npm packages, this project's
 * bundle) on the host, so the builds need no network and no CA. Every image built here carries
 * labels saying so.
 */
import { createHash } from 'node:crypto';
import { cp, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { BuildInput, ImageSpec } from '../../../services/images/catalog.js';
import { ImageBuildError, MissingToolError, ParityError } from '../../../services/errors.js';
import { bundleProject } from './bundle.js';
import { downloadGoModule } from './go.js';
import { hasCommand, run, tryRun } from '../core/exec.js';
import type { Progress } from '../core/progress.js';
import { repoRoot, statePath } from '../core/state.js';

/** Labels on every image built here, so nobody mistakes it for the upstream image. */
export const LABEL_BUILT_LOCALLY = 'dev.parity.built-locally';
export const LABEL_CATALOG_NAME = 'dev.parity.catalog-name';
/** On the project's own images: the hash of the sources they were built from. */
export const LABEL_SOURCE_HASH = 'dev.parity.source-hash';

/** A content hash of repository paths (files and folders, recursively; paths sorted). */
export async function hashSources(paths: readonly string[], root = repoRoot): Promise<string> {
  const hash = createHash('sha256');
  const visit = async (path: string): Promise<void> => {
    const info = await stat(path).catch(() => undefined);
    if (!info) return;
    if (info.isDirectory()) {
      for (const entry of (await readdir(path)).sort()) {
        if (entry === 'node_modules' || entry.startsWith('.')) continue;
        await visit(join(path, entry));
      }
      return;
    }
    hash.update(`${relative(root, path)}\0`);
    hash.update(await readFile(path));
    hash.update('\0');
  };
  for (const path of paths) await visit(join(root, path));
  return hash.digest('hex').slice(0, 16);
}

export function labelsFor(spec: ImageSpec, sourceHash?: string): string[] {
  return [
    ...(sourceHash ? [`${LABEL_SOURCE_HASH}=${sourceHash}`] : []),
    `org.opencontainers.image.version=${spec.version}`,
    `org.opencontainers.image.source=${spec.source}`,
    `org.opencontainers.image.licenses=${spec.licence}`,
    `org.opencontainers.image.ref.name=${spec.ref}`,
    `${LABEL_BUILT_LOCALLY}=true`,
    `${LABEL_CATALOG_NAME}=${spec.name}`,
  ];
}

/** A rolling window of a build's output, for failure reports. */
export class LogTail {
  private readonly lines: string[] = [];
  constructor(private readonly size: number) {}
  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.size) this.lines.shift();
  }
  toString(): string {
    return this.lines.join('\n');
  }
}

/** The Debian base: debootstrap (minbase) + security/updates + `docker import`. */
export async function buildRootfsImage(spec: ImageSpec, suite: string, progress: Progress): Promise<{ packages: string[]; warnings: string[] }> {
  if (process.getuid?.() !== 0) {
    throw new MissingToolError(`building ${spec.ref} needs root (debootstrap); run as root, or load ${spec.ref} into the engine yourself`);
  }
  if (!(await hasCommand('debootstrap'))) {
    progress.step('apt-get install debootstrap');
    // A fresh machine may have no package lists yet.
    await run(['apt-get', 'update', '-qq'], { env: { DEBIAN_FRONTEND: 'noninteractive' } });
    await run(['apt-get', 'install', '-y', '-qq', 'debootstrap'], { env: { DEBIAN_FRONTEND: 'noninteractive' } });
  }
  const rootfs = statePath('build', `${spec.name}-rootfs`);
  await rm(rootfs, { recursive: true, force: true });
  await mkdir(rootfs, { recursive: true });
  const tail = new LogTail(40);
  let step = 'debootstrap';
  const started = Date.now();
  const onLine = (line: string): void => {
    tail.push(line);
    if (/^I: (Retrieving|Validating|Extracting|Installing|Configuring)/.test(line)) progress.step(`${spec.ref}: ${step}: ${line.slice(3)}`);
  };
  try {
    progress.step(`${spec.ref}: debootstrap ${suite}`);
    // debootstrap's default mirror: nothing here names a host.
    await runStep(['debootstrap', '--variant=minbase', suite, rootfs], onLine);
    step = 'security and updates';
    progress.step(`${spec.ref}: ${step}`);
    // debootstrap writes only the main suite; derive -updates and -security from its mirror
    // line, or the image carries stale packages.
    const script = [
      'set -eu',
      `mirror=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list)`,
      `printf 'deb %s ${suite} main\\ndeb %s ${suite}-updates main\\ndeb %s-security ${suite}-security main\\n' "$mirror" "$mirror" "$mirror" > /etc/apt/sources.list`,
      // Like the upstream slim images: no daemons started by package scripts, no recommends, no docs.
      `printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d`,
      `printf 'APT::Install-Recommends "false";\\nAPT::Install-Suggests "false";\\n' > /etc/apt/apt.conf.d/90parity-slim`,
      `printf 'path-exclude /usr/share/doc/*\\npath-exclude /usr/share/man/*\\npath-exclude /usr/share/info/*\\n' > /etc/dpkg/dpkg.cfg.d/90parity-slim`,
      'export DEBIAN_FRONTEND=noninteractive',
      'apt-get update -qq',
      'apt-get -y -qq upgrade',
      'apt-get clean',
      'rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /usr/share/doc/* /usr/share/man/* /var/log/*.log',
      ': > /etc/resolv.conf',
      'echo "parity-version: debian=$(cat /etc/debian_version)"',
    ].join('\n');
    const packages: string[] = [];
    await runStep(['chroot', rootfs, '/bin/sh', '-c', script], (line) => {
      onLine(line);
      if (line.startsWith('parity-version: ')) packages.push(line.slice('parity-version: '.length));
    });
    step = 'docker import';
    progress.step(`${spec.ref}: ${step}`);
    const changes = [`CMD ["bash"]`, ...labelsFor(spec).map((label) => `LABEL ${label.replace('=', '="')}"`)];
    await runStep(
      ['sh', '-c', `tar -C "$1" -c . | docker import ${changes.map((c) => `--change '${c}'`).join(' ')} - "$2"`, 'sh', rootfs, spec.ref],
      onLine,
    );
    return { packages, warnings: [] };
  } catch (error) {
    throw new ImageBuildError(spec.ref, step, error instanceof StepFailed ? tail.toString() : String(error), Date.now() - started);
  } finally {
    progress.done();
    await rm(rootfs, { recursive: true, force: true });
  }
}

class StepFailed extends Error {}

async function runStep(argv: readonly string[], onLine: (line: string) => void): Promise<void> {
  const result = await tryRun(argv, { onLine });
  if (result.code !== 0) throw new StepFailed(`${argv[0]} exited ${result.code}`);
}

/** Stage a build input into the context folder. */
async function stageInput(input: BuildInput, context: string, progress: Progress, ref: string): Promise<void> {
  const target = join(context, input.into);
  switch (input.kind) {
    case 'go-module': {
      progress.step(`${ref}: fetching ${input.module}@${input.version}`);
      const source = await downloadGoModule(input.module, input.version);
      await cp(source, target, { recursive: true });
      await run(['chmod', '-R', 'u+w', target]);
      // Vendor on the host (which trusts its network's CA): the container build then needs no network.
      // The web UI's npm half needs nothing of the Go half: both run at once (each mostly waits on downloads).
      if (input.webBuild && !(await hasCommand('npm'))) throw new MissingToolError(`building ${ref}'s web UI needs npm on PATH`);
      const vendor = run(['go', 'mod', 'vendor'], { cwd: target });
      if (input.webBuild) {
        const web = join(target, input.webBuild.dir);
        progress.step(`${ref}: npm install (${input.webBuild.dir}) and go mod vendor`);
        await Promise.all([run(['npm', 'install', '--no-audit', '--no-fund', '--legacy-peer-deps'], { cwd: web }), vendor]);
        progress.step(`${ref}: npm run build (${input.webBuild.dir})`);
        await run(['npm', 'run', 'build'], { cwd: web });
        // Only the built assets go to the image build; node_modules would be most of the context.
        await rm(join(web, 'node_modules'), { recursive: true, force: true });
        return;
      }
      progress.step(`${ref}: go mod vendor`);
      await vendor;
      return;
    }
    case 'go-toolchain': {
      const arch = { x64: 'amd64', arm64: 'arm64' }[process.arch as string] ?? process.arch;
      progress.step(`${ref}: fetching Go ${input.version} toolchain`);
      const source = await downloadGoModule('golang.org/toolchain', `v0.0.1-go${input.version}.linux-${arch}`);
      await cp(source, target, { recursive: true });
      // The module cache keeps files read-only and not executable; the go command sets the
      // bits itself when it switches toolchains, so a copy must do the same.
      await run(['chmod', '-R', 'u+w', target]);
      await run(['find', join(target, 'bin'), join(target, 'pkg', 'tool'), '-type', 'f', '-exec', 'chmod', '755', '{}', '+']);
      return;
    }
    case 'project-bundle': {
      progress.step(`${ref}: bundling ${input.entries.length} entries with esbuild`);
      const { warnings } = await bundleProject(input.entries, target);
      for (const warning of warnings) progress.info(`  esbuild: ${warning}`);
      await cp(join(repoRoot, input.assets), join(target, 'public'), { recursive: true });
      return;
    }
    case 'npm-package': {
      if (!(await hasCommand('npm'))) throw new MissingToolError(`staging ${input.name}@${input.version} needs npm on PATH`);
      progress.step(`${ref}: npm pack ${input.name}@${input.version}`);
      const packDir = join(context, '.npm-pack');
      await mkdir(packDir, { recursive: true });
      const file = (await run(['npm', 'pack', '--silent', `${input.name}@${input.version}`, '--pack-destination', packDir])).split('\n').at(-1)!;
      await mkdir(target, { recursive: true });
      await run(['tar', '-xzf', join(packDir, file), '-C', target, '--strip-components=1']);
      await rm(packDir, { recursive: true, force: true });
      return;
    }
  }
}

/** Stage the context and `docker build` it, with step progress and a useful failure. */
export async function buildDockerfileImage(
  spec: ImageSpec,
  refs: ReadonlyMap<string, string>,
  dockerfileRoot: string,
  progress: Progress,
  sourceHash?: string,
): Promise<{ packages: string[]; warnings: string[] }> {
  if (spec.recipe.kind !== 'dockerfile') throw new Error('unreachable');
  const recipe = spec.recipe;
  const context = statePath('build', spec.name);
  const started = Date.now();
  let step = 'staging the build context';
  const tail = new LogTail(40);
  try {
    await rm(context, { recursive: true, force: true });
    await mkdir(context, { recursive: true });
    for (const entry of await readdir(join(dockerfileRoot, recipe.dir))) {
      await cp(join(dockerfileRoot, recipe.dir, entry), join(context, entry), { recursive: true });
    }
    for (const input of recipe.inputs) await stageInput(input, context, progress, spec.ref);

    const args = { ...recipe.args };
    // Bases are passed as <NAME>_IMAGE so the Dockerfile's FROM follows the catalog.
    for (const base of spec.from) args[`${base.toUpperCase().replace(/-/g, '_')}_IMAGE`] = refs.get(base)!;
    const argv = [
      'docker', 'build', '--rm', '--force-rm', '-t', spec.ref,
      ...labelsFor(spec, sourceHash).flatMap((label) => ['--label', label]),
      ...Object.entries(args).flatMap(([key, value]) => ['--build-arg', `${key}=${value}`]),
      context,
    ];
    step = 'docker build';
    progress.step(`${spec.ref}: ${step}`);
    const packages: string[] = [];
    const warnings: string[] = [];
    const result = await dockerBuild(argv, spec.ref, tail, progress, (current) => (step = current), (line) => {
      const version = /parity-version: (.*)$/.exec(line);
      if (version && !line.includes('echo')) packages.push(version[1]!);
      const warning = /parity-warning: (.*)$/.exec(line);
      if (warning && !line.includes('echo')) warnings.push(warning[1]!);
    });
    if (result.code !== 0) throw new StepFailed(`docker build exited ${result.code}`);
    await rm(context, { recursive: true, force: true });
    // Leftovers, removed by label so nothing of anyone else's is touched: the image this
    // build replaced, and the Go builder stage (vendored sources + compiler output, several
    // GB), which inherits the Go image's catalog label.
    for (const name of spec.from.includes('golang') ? [spec.name, 'golang'] : [spec.name]) {
      await tryRun(['docker', 'image', 'prune', '-f', '--filter', 'dangling=true', '--filter', `label=${LABEL_CATALOG_NAME}=${name}`]);
    }
    return { packages, warnings };
  } catch (error) {
    // The tag moves only when a build succeeds, so images built earlier stay intact.
    if (error instanceof ParityError && !(error instanceof StepFailed)) throw error;
    throw new ImageBuildError(
      spec.ref,
      step,
      `${error instanceof StepFailed ? tail.toString() : String(error)}\n(build context kept for inspection: ${context})`,
      Date.now() - started,
    );
  } finally {
    progress.done();
  }
}

/**
 * `docker build` with the classic builder, which prints "Step N/M : …" for progress to follow (the
 * builder every engine from 20.10 on has without the buildx plugin); each plain line also goes to
 * `tail` and `onLine`, and each step to `onStep`.
 */
export async function dockerBuild(argv: string[], ref: string, tail: LogTail, progress: Progress, onStep: (step: string) => void, onLine: (line: string) => void = () => {}) {
  return tryRun(argv, {
    env: { DOCKER_BUILDKIT: '0', DOCKER_CLI_HINTS: 'false' },
    onLine: (raw) => {
      // The CLI colours the build's stderr; reports and matching want plain text.
      // eslint-disable-next-line no-control-regex -- matching the ESC of colour codes is the point
      const line = raw.replace(/\x1b\[[0-9;]*m/g, '');
      tail.push(line);
      const stepMatch = /^Step (\d+\/\d+) : (.*)$/.exec(line);
      if (stepMatch) {
        const step = `step ${stepMatch[1]} (${stepMatch[2]!.slice(0, 70)})`;
        onStep(step);
        progress.step(`${ref}: ${step}`);
      }
      onLine(line);
    },
  });
}
