import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../src/silent-logger';

describe('silentLogger', () => {
  it('answers every call the packages make and reports itself silent, as pino at level silent does', () => {
    const logger = silentLogger();
    const reference = pino({ level: 'silent' });
    for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const) {
      expect(logger[level]({ shardId: 's' }, 'message')).toBeUndefined();
      expect(logger.isLevelEnabled(level)).toBe(reference.isLevelEnabled(level));
    }
    expect(logger.level).toBe(reference.level);
    const child = logger.child({ component: 'x' }, { redact: ['data'] });
    expect(child.isLevelEnabled('error')).toBe(false);
    expect(child.bindings()).toEqual({});
    let flushed = false;
    logger.flush(() => (flushed = true));
    expect(flushed).toBe(true);
  });

  it('is what a real pino child would be replaced by: the same calls on pino write lines, on it nothing', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const real = pino({ level: 'trace' }, sink).child({ component: 'x' });
    const silent = silentLogger().child({ component: 'x' });
    for (const logger of [real, silent]) logger.warn({ shardId: 's' }, 'seen');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ component: 'x', shardId: 's', msg: 'seen' });
  });
});
