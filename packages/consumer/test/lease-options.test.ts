import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/errors';
import { resolveConsumerOptions } from '../src/options';
import { optionsWith } from './support/options';

const resolve = (patch: Record<string, unknown>) => resolveConsumerOptions(optionsWith(patch));

describe('lease options', () => {
  it('defaults: steal the shortfall, settled scans at failover + 25, cleanup on at the KCL intervals', () => {
    expect(resolve({})).toMatchObject({
      maxLeasesToStealAtOneTime: Number.MAX_SAFE_INTEGER,
      leaseTakerIntervalMillis: undefined,
      maxClockSkewMillis: 1000,
      leaseCleanup: {
        completedLeases: true,
        garbageLeases: true,
        completedLeaseCleanupIntervalMillis: 300_000,
        garbageLeaseCleanupIntervalMillis: 1_800_000,
      },
    });
  });

  it('takes what is given', () => {
    expect(
      resolve({
        maxLeasesToStealAtOneTime: 1,
        leaseTakerIntervalMillis: 20_050,
        maxClockSkewMillis: 0,
        leaseCleanup: { garbageLeases: false, completedLeaseCleanupIntervalMillis: 0 },
      }),
    ).toMatchObject({
      maxLeasesToStealAtOneTime: 1,
      leaseTakerIntervalMillis: 20_050,
      maxClockSkewMillis: 0,
      leaseCleanup: {
        completedLeases: true,
        garbageLeases: false,
        completedLeaseCleanupIntervalMillis: 0,
      },
    });
  });

  it.each([
    [{ maxLeasesToStealAtOneTime: -1 }, /maxLeasesToStealAtOneTime/],
    [{ maxLeasesToStealAtOneTime: 1.5 }, /maxLeasesToStealAtOneTime/],
    [{ leaseTakerIntervalMillis: 10 }, /leaseTakerIntervalMillis/],
    [{ leaseTakerIntervalMillis: '20000' }, /leaseTakerIntervalMillis/],
    [{ maxClockSkewMillis: -1 }, /maxClockSkewMillis/],
    [{ maxClockSkewMillis: 1.5 }, /maxClockSkewMillis/],
    [{ leaseCleanup: true }, /leaseCleanup must be an object/],
    [{ leaseCleanup: null }, /leaseCleanup must be an object/],
    [{ leaseCleanup: { completedLeases: 'no' } }, /leaseCleanup.completedLeases/],
    [{ leaseCleanup: { cleanupLeasesUponShardCompletion: false } }, /is not an option/],
    [
      { leaseCleanup: { garbageLeaseCleanupIntervalMillis: -5 } },
      /garbageLeaseCleanupIntervalMillis/,
    ],
  ])('refuses %j with a ConfigError', (patch, message) => {
    expect(() => resolve(patch)).toThrow(ConfigError);
    expect(() => resolve(patch)).toThrow(message);
  });
});
