/** Go modules through the Go module proxy (GOPROXY from the environment). */
import { MissingToolError } from '../../../services/errors.js';
import { hasCommand, run } from '../core/exec.js';

/** Path of a Go module's source at a version, downloaded through the Go module proxy. */
export async function downloadGoModule(module: string, version: string): Promise<string> {
  if (!(await hasCommand('go'))) {
    throw new MissingToolError(
      `building ${module}@${version} needs the Go toolchain (go ≥ 1.24 on PATH); install Go, or install the image/plugin yourself`,
    );
  }
  const json = await run(['go', 'mod', 'download', '-json', `${module}@${version}`]);
  const info = JSON.parse(json) as { Dir?: string; Error?: string };
  if (!info.Dir) throw new MissingToolError(`go mod download ${module}@${version}: ${info.Error ?? 'no source directory'}`);
  return info.Dir;
}
