import { describe, expect, it } from 'vitest';
import { explainCannotInstall } from '../../scripts/runners/engine/engine.js';
import { formatDuration, lastLines, suggest } from '../../services/errors.js';

describe('engine bootstrap: when it cannot install an engine', () => {
  it('GIVEN a Debian host as root with apt THEN it can install', () => {
    expect(explainCannotInstall({ isRoot: true, hasApt: true, hasDockerd: false, osId: 'debian' })).toBeUndefined();
    expect(explainCannotInstall({ isRoot: true, hasApt: true, hasDockerd: false, osId: 'ubuntu debian' })).toBeUndefined();
  });

  it('GIVEN a non-root user THEN it says root is needed and how to do it by hand', () => {
    expect(explainCannotInstall({ isRoot: false, hasApt: true, hasDockerd: false, osId: 'debian' })).toBe(
      'No Docker engine answers and installing one needs root.\n' +
        'Run as root (sudo make engine), or install it yourself: apt-get install docker.io, then start dockerd ' +
        'and add your user to the docker group.',
    );
  });

  it('GIVEN a host without apt THEN it says what to install', () => {
    expect(explainCannotInstall({ isRoot: true, hasApt: false, hasDockerd: false, osId: 'fedora' })).toBe(
      'No Docker engine answers and this host (fedora) has no apt, so Parity can\'t install one.\n' +
        'Install Docker Engine (or Docker Desktop) with your system\'s package manager, start it, and check that ' +
        '`docker info` answers; then run this again.',
    );
  });
});

describe('message helpers', () => {
  it('formats durations short and stable', () => {
    expect(formatDuration(850)).toBe('850ms');
    expect(formatDuration(12_340)).toBe('12.3s');
    expect(formatDuration(65_000)).toBe('1m05s');
  });

  it('keeps the last non-empty lines', () => {
    expect(lastLines('a\n\nb\nc\n', 2)).toBe('b\nc');
  });

  it('suggests a close name only', () => {
    expect(suggest('traefk', ['traefik', 'redis'])).toBe('traefik');
    expect(suggest('mysql', ['traefik', 'redis'])).toBeUndefined();
  });
});

describe('pull failures', () => {
  it('tells an unreachable registry from an image missing upstream', async () => {
    const { isRegistryUnreachable } = await import('../../scripts/runners/engine/images.js');
    expect(isRegistryUnreachable('Error response from daemon: Get "https://r.example/v2/": dial tcp: lookup r.example on 10.0.0.53:53: no such host')).toBe(true);
    expect(isRegistryUnreachable('Error response from daemon: Get "https://r.example/v2/": net/http: request canceled (Client.Timeout exceeded while awaiting headers)')).toBe(true);
    expect(isRegistryUnreachable('Error response from daemon: manifest for shopify/toxiproxy:2.5.0 not found: manifest unknown')).toBe(false);
    expect(isRegistryUnreachable('Error response from daemon: pull access denied for parity/x, repository does not exist')).toBe(false);
  });
});
