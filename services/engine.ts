/**
 * What the engine bootstrap needs to know, as data: the Compose v2 release Parity builds
 * when no `docker compose` plugin is installed, and the engine it targets.
 */

/** The Docker Engine API the stack is tested against (Debian bookworm's docker.io 20.10). */
export const TARGET_ENGINE_API = '1.41';

/**
 * Compose v2, built from its Go module source when the plugin is missing.
 * v2.40.x still negotiates down to API 1.41, so it drives Debian's 20.10 engine.
 */
export const COMPOSE = {
  module: 'github.com/docker/compose/v2',
  version: 'v2.40.3',
  /** Package that receives the version string at link time. */
  versionVariable: 'github.com/docker/compose/v2/internal.Version',
} as const;

/** Debian package that provides the engine when none answers. */
export const ENGINE_PACKAGE = 'docker.io';
