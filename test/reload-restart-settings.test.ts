// Which settings a reload cannot apply to a running process, so that it warns about them.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { restartOnlyChanges } from '../src/reload.js';

const base = {
  clientKeys: [{ name: 'team', key: 'gw-key' }],
  upstreams: [{ name: 'pool', baseUrl: 'http://127.0.0.1:1/v1', models: ['*'], accounts: [{ name: 'a', apiKey: 'sk-a' }] }],
};

describe('restartOnlyChanges', () => {
  it('names sticky.maxPinsPerKey, which the Redis pin store takes when it is built', () => {
    const before = parseConfig({ ...base, sticky: { maxPinsPerKey: 100 } });
    const after = parseConfig({ ...base, sticky: { maxPinsPerKey: 200 } });
    expect(restartOnlyChanges(before, after)).toEqual(['sticky.maxPinsPerKey']);
  });

  it('names limits.admission and limits.lease, which choose and shape the limit stores when they are built', () => {
    const before = parseConfig(base);
    const after = parseConfig({ ...base, limits: { admission: 'lease', lease: { share: 0.2 } } });
    expect(restartOnlyChanges(before, after)).toEqual(['limits.admission', 'limits.lease']);
  });

  it('names nothing when only what a reload applies changed', () => {
    const before = parseConfig({ ...base, sticky: { ttlSeconds: 60 } });
    const after = parseConfig({ ...base, sticky: { ttlSeconds: 120, pinReads: 'local' }, clientKeys: [{ name: 'other', key: 'gw-other' }] });
    expect(restartOnlyChanges(before, after)).toEqual([]);
  });
});
