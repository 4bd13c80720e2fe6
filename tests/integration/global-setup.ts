/**
 * Before any container starts: every catalog image must be present, or the suites would
 * fail one by one with a registry error. Says what to run instead.
 */
import { spawnSync } from 'node:child_process';
import { IMAGE_CATALOG } from '../../services/images/catalog.js';

/**
 * After the suites: Ryuk is off, so a container whose start failed (testcontainers leaves it
 * in "created") and networks left by an aborted run would leak. Remove what testcontainers
 * labelled and is not running.
 */
function removeLeftovers(): void {
  const ids = (args: string[]) => spawnSync('docker', args, { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  for (const status of ['created', 'exited', 'dead']) {
    const containers = ids(['ps', '-aq', '--filter', 'label=org.testcontainers=true', '--filter', `status=${status}`]);
    if (containers.length) spawnSync('docker', ['rm', '-f', '-v', ...containers]);
  }
  spawnSync('docker', ['network', 'prune', '-f', '--filter', 'label=org.testcontainers=true']);
}

const TEST_PROJECT = /^parity-(?:backup|chaos|cluster|deploy|failover|region|lifecycle|security|test)-(\d+)(?:-dr|-link)?$/;

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * Before the suites: a killed test run (a CI job stopped mid-way, a closed terminal) leaves its
 * stack behind, with restart policies that keep it busy on a 2-core machine and labels another
 * run's leftover checks would count. Remove the stacks of test projects whose process is gone.
 */
function removeStaleStacks(): void {
  const lines = (args: string[]) => spawnSync('docker', args, { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  const stale = new Set(
    lines(['ps', '-a', '--format', '{{.Label "com.docker.compose.project"}}'])
      .concat(lines(['network', 'ls', '--format', '{{.Name}}']), lines(['volume', 'ls', '--format', '{{.Name}}']))
      .map((name) => /^(parity-[a-z]+-\d+(?:-dr|-link)?)/.exec(name)?.[1])
      .filter((project): project is string => !!project && TEST_PROJECT.test(project) && !alive(Number(TEST_PROJECT.exec(project)![1]))),
  );
  for (const project of stale) {
    process.stderr.write(`removing the stack of a test run that is gone: ${project}\n`);
    const containers = lines(['ps', '-aq', '--filter', `name=${project}`]);
    if (containers.length) spawnSync('docker', ['rm', '-f', '-v', ...containers]);
    const networks = lines(['network', 'ls', '-q', '--filter', `name=${project}`]);
    if (networks.length) spawnSync('docker', ['network', 'rm', ...networks]);
    const volumes = lines(['volume', 'ls', '-q', '--filter', `name=${project}`]);
    if (volumes.length) spawnSync('docker', ['volume', 'rm', '-f', ...volumes]);
  }
}

export default function checkImagesPresent(): () => void {
  const missing = IMAGE_CATALOG.filter(
    (spec) => spawnSync('docker', ['image', 'inspect', '--format', '{{.Id}}', spec.ref], { encoding: 'utf8' }).status !== 0,
  ).map((spec) => spec.ref);
  if (missing.length > 0) {
    throw new Error(`integration tests need every catalog image; missing: ${missing.join(', ')}. Run \`make images\` first (make test does).`);
  }
  removeStaleStacks();
  return removeLeftovers;
}
