import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IMAGE_CATALOG, type ImageSpec } from '../../services/images/catalog.js';
import { renderImageLock, resolveImageSource, selectImages, type ImageProbe } from '../../services/images/resolve.js';
import { CatalogError, UnknownImageError } from '../../services/errors.js';

const root = join(import.meta.dirname, '..', '..');

/** A probe over an in-memory set of images, recording what it was asked. */
function fakeProbe(present: string[], pullSucceeds: boolean): ImageProbe & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async hasImage(ref) {
      calls.push(`has ${ref}`);
      return present.includes(ref);
    },
    async pull(ref) {
      calls.push(`pull ${ref}`);
      return pullSucceeds;
    },
  };
}

const traefik = IMAGE_CATALOG.find((spec) => spec.name === 'traefik')!;

describe('selectImages', () => {
  it('GIVEN no names WHEN selecting THEN every image comes back, each after the bases it builds from', () => {
    const ordered = selectImages(IMAGE_CATALOG, []);
    expect(ordered.map((s) => s.name).sort()).toEqual(IMAGE_CATALOG.map((s) => s.name).sort());
    const position = new Map(ordered.map((s, i) => [s.name, i]));
    for (const spec of ordered) for (const base of spec.from) expect(position.get(base)!).toBeLessThan(position.get(spec.name)!);
  });

  it('GIVEN one Go-built image WHEN selecting THEN its bases come first', () => {
    expect(selectImages(IMAGE_CATALOG, ['traefik']).map((s) => s.name)).toEqual(['debian', 'golang', 'traefik']);
  });

  it('GIVEN patroni WHEN selecting THEN the postgres image it runs on comes first, with its Debian base', () => {
    expect(selectImages(IMAGE_CATALOG, ['patroni']).map((s) => s.name)).toEqual(['debian', 'postgres', 'patroni']);
  });

  it('GIVEN unknown names WHEN selecting THEN all are reported together, with suggestions', () => {
    expect(() => selectImages(IMAGE_CATALOG, ['postgress', 'nginx'])).toThrowError(UnknownImageError);
    expect(() => selectImages(IMAGE_CATALOG, ['postgress', 'nginx'])).toThrowError(
      'unknown image "postgress" (did you mean "postgres"?); unknown image "nginx". Known images: ' +
        'debian, golang, node, stubs, postgres, redis, traefik, seaweedfs, toxiproxy, prometheus, alertmanager, ' +
        'postgres-exporter, redis-exporter, node-exporter, patroni, etcd, haproxy.',
    );
  });

  it('GIVEN a catalog with a cycle WHEN selecting THEN it says where', () => {
    const a = { ...traefik, name: 'a', from: ['b'] } as ImageSpec;
    const b = { ...traefik, name: 'b', from: ['a'] } as ImageSpec;
    expect(() => selectImages([a, b], ['a'])).toThrowError(CatalogError);
    expect(() => selectImages([a, b], ['a'])).toThrowError('image catalog: cycle a -> b -> a');
    expect(() => selectImages([{ ...traefik, name: 'c', from: ['nope'] } as ImageSpec], ['c'])).toThrowError('image catalog: c builds from unknown image "nope"');
  });
});

describe('resolveImageSource (local → pull → build)', () => {
  it('uses the local image when present, without pulling', async () => {
    const probe = fakeProbe([traefik.ref], true);
    expect(await resolveImageSource(traefik, probe)).toBe('local');
    expect(probe.calls).toEqual([`has ${traefik.ref}`]);
  });

  it('pulls when the image is missing and the registry answers', async () => {
    const probe = fakeProbe([], true);
    expect(await resolveImageSource(traefik, probe)).toBe('pulled');
    expect(probe.calls).toEqual([`has ${traefik.ref}`, `pull ${traefik.ref}`]);
  });

  it('builds when the image is missing and the pull fails', async () => {
    const probe = fakeProbe([], false);
    expect(await resolveImageSource(traefik, probe)).toBe('build');
    expect(probe.calls).toEqual([`has ${traefik.ref}`, `pull ${traefik.ref}`]);
  });

  it('builds without trying to pull when offline', async () => {
    const probe = fakeProbe([], true);
    expect(await resolveImageSource(traefik, probe, { offline: true })).toBe('build');
    expect(probe.calls).toEqual([`has ${traefik.ref}`]);
  });

  it('rebuilds a present image when asked, without probing', async () => {
    const probe = fakeProbe([traefik.ref], true);
    expect(await resolveImageSource(traefik, probe, { rebuild: true })).toBe('build');
    expect(probe.calls).toEqual([]);
  });
});

describe('the catalog', () => {
  it('matches the committed lock file (run `make lock` after changing versions)', () => {
    const lock = JSON.parse(readFileSync(join(root, 'services/images/images.lock.json'), 'utf8'));
    expect(lock).toEqual(JSON.parse(JSON.stringify(renderImageLock(IMAGE_CATALOG))));
  });

  it('pins every reference (no latest, no bare names) and names no registry host', () => {
    for (const spec of IMAGE_CATALOG) {
      expect(spec.ref, spec.name).toMatch(/^[a-z0-9._/-]+:[A-Za-z0-9._-]+$/);
      expect(spec.ref, spec.name).not.toMatch(/:latest$/);
      const firstComponent = spec.ref.split('/')[0]!;
      expect(spec.ref.includes('/') && /[.:]/.test(firstComponent), `${spec.name} names a registry`).toBe(false);
    }
  });

  it("names the project's own images parity/* and hashes their recipe, so they are never pulled and rebuild when it changes", () => {
    for (const spec of IMAGE_CATALOG) {
      expect(spec.ref.startsWith('parity/'), spec.name).toBe(Boolean(spec.project));
      if (spec.project && spec.recipe.kind === 'dockerfile') expect(spec.project.sources, spec.name).toContain(`services/images/${spec.recipe.dir}`);
    }
    expect(IMAGE_CATALOG.filter((spec) => spec.project).map((spec) => spec.ref)).toEqual(['parity/stubs:1.0.0', 'parity/patroni:3.0.2-pg15', 'parity/etcd:3.4.23']);
  });

  it('has a Dockerfile for every dockerfile recipe, declaring every build arg the bake passes', () => {
    for (const spec of IMAGE_CATALOG) {
      if (spec.recipe.kind !== 'dockerfile') continue;
      const path = join(root, 'services/images', spec.recipe.dir, 'Dockerfile');
      expect(existsSync(path), path).toBe(true);
      const dockerfile = readFileSync(path, 'utf8');
      const declared = new Set([...dockerfile.matchAll(/^ARG (\w+)/gm)].map((m) => m[1]));
      const passed = [...Object.keys(spec.recipe.args), ...spec.from.map((base) => `${base.toUpperCase().replace(/-/g, '_')}_IMAGE`)];
      for (const arg of passed) expect(declared.has(arg), `${spec.name}: ${path} lacks ARG ${arg}`).toBe(true);
    }
  });
});
