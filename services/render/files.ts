/**
 * File descriptions (`FileSpec`, from the topology) → the text `make gen` writes, and the
 * config hash of each service that mounts them. Pure.
 */
import { createHash } from 'node:crypto';
import type { FileSpec, ServiceSpec } from '../topology/types.js';
import { generatedComment, renderJson, renderScript, renderYaml } from './yaml.js';

/** A file as written into compose/. */
export interface RenderedFile {
  /** Path relative to compose/. */
  readonly path: string;
  readonly content: string;
  readonly executable: boolean;
}

/** The text of one described file. */
export function renderFileContent(file: FileSpec): string {
  switch (file.format) {
    case 'yaml':
      return renderYaml(file.value, file.source);
    case 'json':
      return renderJson(file.value);
    case 'script':
      return renderScript(file.value, file.source);
    case 'config':
      return [generatedComment(file.source), ...file.value, ''].join('\n');
    case 'text':
      return file.value;
  }
}

export function renderFile(file: FileSpec): RenderedFile {
  return { path: file.path, content: renderFileContent(file), executable: file.executable ?? false };
}

/**
 * The `dev.parity.config-hash` label: a hash of the rendered files the service bind-mounts from
 * compose/, so when `make gen` changes them `make up` recreates the service. Compose can't see
 * into bind-mounted files itself, and Traefik, Prometheus and Alertmanager read their static
 * config only at start. Undefined when the service mounts none.
 */
export function configHash(service: ServiceSpec, files: readonly RenderedFile[]): string | undefined {
  const mounted = (service.volumes ?? [])
    .map((volume) => volume.split(':')[0]!)
    .filter((source) => source.startsWith('./'))
    .map((source) => source.slice(2));
  const used = files.filter((file) => mounted.some((path) => file.path === path || file.path.startsWith(`${path}/`))).sort((a, b) => a.path.localeCompare(b.path));
  if (used.length === 0) return undefined;
  const hash = createHash('sha256');
  for (const file of used) hash.update(`${file.path}\0${file.content}\0`);
  return hash.digest('hex').slice(0, 12);
}
