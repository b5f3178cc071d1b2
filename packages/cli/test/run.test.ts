import { describe, expect, it } from 'vitest';
import { EXIT } from '../src/index';
import { run } from './support/cli';

describe('runCli', () => {
  it('bad flags: exit 2 and one line on stderr, nothing on stdout', async () => {
    const out = await run(['produce', '--stream', 's', '--rate', 'fast']);
    expect(out.code).toBe(EXIT.usage);
    expect(out.stdout).toBe('');
    expect(out.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(out.stderr).toMatch(/^shardline: --rate must be records per second/);
  });

  it('no region for real AWS: exit 2 with a hint', async () => {
    const out = await run(['produce', '--stream', 's']);
    expect(out.code).toBe(EXIT.usage);
    expect(out.stderr).toContain('no region');
  });

  it('help for each command, exit 0', async () => {
    for (const command of ['produce', 'consume', 'leases', 'local', 'demo']) {
      const out = await run([command, '--help']);
      expect(out.code).toBe(0);
      expect(out.stdout).toContain(`shardline ${command}`);
    }
    expect((await run([])).stdout).toContain('Commands:');
    expect((await run(['--version'])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('an unreachable endpoint: exit 1, one line naming the endpoint and never the secret', async () => {
    const out = await run(
      ['produce', '--stream', 's', '--endpoint', 'http://127.0.0.1:1', '--count', '1'],
      {
        AWS_ACCESS_KEY_ID: 'AKIASECRETID',
        AWS_SECRET_ACCESS_KEY: 'super-secret-value',
      },
    );
    expect(out.code).toBe(EXIT.failure);
    expect(out.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(out.stderr).toContain('http://127.0.0.1:1');
    expect(out.stderr).toContain('[BACKEND_UNREACHABLE]');
    expect(out.stderr).not.toContain('super-secret-value');
    expect(out.stderr).not.toContain('AKIASECRETID');
  });
});
