/** A build of a folder outside the catalog (an example service): the catalog bake's builder, without its staging and labels. */
import { ImageBuildError } from '../../../services/errors.js';
import { run } from '../core/exec.js';
import type { Progress } from '../core/progress.js';
import { dockerBuild, LogTail } from './image-build.js';

/**
 * `docker build` of a folder that is not the catalog's (an example service, later a developer's
 * build context): tagged `ref`, with build args; progress follows the classic builder's steps; a
 * failure quotes the build's last lines. Returns the image's ID.
 */
export async function buildLocalImage(context: string, ref: string, args: Readonly<Record<string, string>>, progress: Progress): Promise<string> {
  const tail = new LogTail(40);
  const started = Date.now();
  let step = 'docker build';
  const argv = ['docker', 'build', '--rm', '--force-rm', '-t', ref, ...Object.entries(args).flatMap(([key, value]) => ['--build-arg', `${key}=${value}`]), context];
  const result = await dockerBuild(argv, ref, tail, progress, (current) => (step = current));
  progress.done();
  if (result.code !== 0) throw new ImageBuildError(ref, `${step} of ${context}`, tail.toString(), Date.now() - started);
  return (await run(['docker', 'image', 'inspect', '-f', '{{.Id}}', ref])).trim();
}
