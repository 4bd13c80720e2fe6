/** A per-service deploy (`make deploy SERVICES=events IMAGE=…`, `IMAGES=…`): the request, and what the new color runs. */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseServiceImages, validateDeployRequest, versionFromImages } from '../../services/deploy/policy.js';
import { nextColorState } from '../../scripts/runners/deploy/deploy.js';
import { colorImageEnvironment } from '../../scripts/runners/stack/deploy-state.js';

describe('the request', () => {
  it('GIVEN SERVICES and one IMAGE, or IMAGES THEN each named service gets its image', () => {
    expect(parseServiceImages({ services: 'events,ivor', image: 'team/api:1.4' })).toEqual({ images: { events: 'team/api:1.4', ivor: 'team/api:1.4' }, problems: [] });
    expect(parseServiceImages({ images: 'ivor=team/ivor:2.0,events=team/events:1.4' })).toEqual({ images: { ivor: 'team/ivor:2.0', events: 'team/events:1.4' }, problems: [] });
    expect(parseServiceImages({ image: 'parity/stubs:2' })).toEqual({ problems: [] });
  });

  it('GIVEN a service twice, a stub-only one, an unknown one, SERVICES without IMAGE, both forms THEN every problem at once', () => {
    expect(parseServiceImages({ images: 'events=a:1,events=b:2,auth=c:3,evnts=d:4,ivor' }).problems).toEqual([
      'IMAGES: events is named twice',
      'IMAGES: auth stays a stub (it signs the tokens the others verify); deploy it with the stubs (make deploy VERSION=…)',
      'IMAGES: evnts is not a platform service (did you mean events?); expected frontend, ivor, events, newsroom',
      'IMAGES: ivor has no image (service=repository:tag)',
    ]);
    expect(parseServiceImages({ services: 'events' }).problems).toEqual(['SERVICES needs IMAGE: the image those services run (make deploy SERVICES=events IMAGE=team/events:1.4)']);
    expect(parseServiceImages({ services: 'events', images: 'events=a:1' }).problems).toEqual(['SERVICES and IMAGES: give one (SERVICES=events IMAGE=ref, or IMAGES=events=ref,ivor=ref)']);
    expect(validateDeployRequest({ version: '1', images: { events: 'Not A Ref' } })).toEqual(['IMAGES: events=Not A Ref is not an image reference (repository:tag)']);
  });

  it('GIVEN no VERSION THEN the images\' shared tag is the version, else none', () => {
    expect(versionFromImages({ events: 'team/events:1.4.2' })).toBe('1.4.2');
    expect(versionFromImages({ events: 'team/events:1.4', ivor: 'team/ivor:2.0' })).toBeUndefined();
  });
});

describe('what the new color runs', () => {
  const active = { version: '1.0', image: 'parity/stubs:9', images: { ivor: 'team/ivor:2.0' }, digests: { ivor: 'sha256:aaa' } };

  it('GIVEN a per-service deploy THEN the named services get the new image and ID, the others keep the active color\'s (stubs image too)', () => {
    expect(nextColorState({ version: '1.4', images: { events: 'team/events:1.4' } }, active, 'T', { events: 'sha256:bbb' })).toEqual({
      version: '1.4',
      image: 'parity/stubs:9',
      images: { ivor: 'team/ivor:2.0', events: 'team/events:1.4' },
      digests: { ivor: 'sha256:aaa', events: 'sha256:bbb' },
      deployedAt: 'T',
    });
  });

  it('GIVEN a stubs deploy THEN the stubs image is the one asked (or the catalog\'s), per-service images stay', () => {
    expect(nextColorState({ version: '2.0' }, active, 'T', {})).toEqual({ version: '2.0', images: { ivor: 'team/ivor:2.0' }, digests: { ivor: 'sha256:aaa' }, deployedAt: 'T' });
  });

  it('GIVEN the deploy state THEN compose gets the color\'s and each service\'s image variable', () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'parity-deploy-services-'));
    try {
      mkdirSync(join(stateDir, 'deploy'));
      const colors = { blue: { version: '1' }, green: { version: '2', image: 'parity/stubs:9', images: { events: 'team/events:1.4' } } };
      writeFileSync(join(stateDir, 'deploy', 'state.json'), JSON.stringify({ active: 'green', weights: { blue: 0, green: 100 }, sticky: false, colors }));
      expect(colorImageEnvironment(stateDir)).toEqual({ PARITY_IMAGE_GREEN: 'parity/stubs:9', PARITY_IMAGE_EVENTS_GREEN: 'team/events:1.4' });
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
