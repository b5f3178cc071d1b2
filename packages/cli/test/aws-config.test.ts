import { describe, expect, it } from 'vitest';
import { describeTarget, resolveAwsConfig, UsageError } from '../src/index';

describe('resolveAwsConfig', () => {
  it('real AWS: region and credentials from the standard environment, SDK endpoints', () => {
    const config = resolveAwsConfig(
      {},
      {
        AWS_REGION: 'eu-west-1',
        AWS_ACCESS_KEY_ID: 'AKIAREAL',
        AWS_SECRET_ACCESS_KEY: 'very-secret',
        AWS_SESSION_TOKEN: 'tok',
      },
    );
    expect(config).toMatchObject({
      region: 'eu-west-1',
      kinesisEndpoint: undefined,
      dynamodbEndpoint: undefined,
      credentialSource: 'environment',
      emulator: false,
    });
    expect(config.credentials).toEqual({
      accessKeyId: 'AKIAREAL',
      secretAccessKey: 'very-secret',
      sessionToken: 'tok',
    });
  });

  it('AWS_DEFAULT_REGION when AWS_REGION is unset; no region at all is a usage error for AWS', () => {
    expect(resolveAwsConfig({}, { AWS_DEFAULT_REGION: 'ap-south-1' }).region).toBe('ap-south-1');
    expect(() => resolveAwsConfig({}, {})).toThrow(UsageError);
  });

  it('leaves credentials to the SDK chain when none are given (profiles, SSO, roles)', () => {
    const config = resolveAwsConfig(
      { profile: 'dev' },
      { AWS_REGION: 'us-west-2', AWS_ACCESS_KEY_ID: 'A', AWS_SECRET_ACCESS_KEY: 'B' },
    );
    expect(config.credentials).toBeUndefined();
    expect(config.credentialSource).toBe('sdk-default-chain');
  });

  it('endpoint precedence: service flag > --endpoint > AWS_ENDPOINT_URL_<SERVICE> > KINESIS_ENDPOINT > AWS_ENDPOINT_URL', () => {
    const env = {
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL: 'http://shared:1',
      KINESIS_ENDPOINT: 'http://legacy-kinesis:2',
      AWS_ENDPOINT_URL_KINESIS: 'http://sdk-kinesis:3',
      DYNAMODB_ENDPOINT: 'http://legacy-ddb:4',
    };
    expect(resolveAwsConfig({}, env)).toMatchObject({
      kinesisEndpoint: 'http://sdk-kinesis:3',
      dynamodbEndpoint: 'http://legacy-ddb:4',
    });
    expect(resolveAwsConfig({ endpoint: 'http://flag:5' }, env)).toMatchObject({
      kinesisEndpoint: 'http://flag:5',
      dynamodbEndpoint: 'http://flag:5',
    });
    expect(
      resolveAwsConfig({ endpoint: 'http://flag:5', kinesisEndpoint: 'http://k:6' }, env),
    ).toMatchObject({ kinesisEndpoint: 'http://k:6', dynamodbEndpoint: 'http://flag:5' });
    expect(
      resolveAwsConfig({}, { AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: 'http://shared:1' }),
    ).toMatchObject({ kinesisEndpoint: 'http://shared:1', dynamodbEndpoint: 'http://shared:1' });
  });

  it('local endpoints (LocalStack, kinesis-local) work with no region or credentials set', () => {
    const config = resolveAwsConfig({ endpoint: 'http://localhost:4566' }, {});
    expect(config).toMatchObject({
      region: 'us-east-1',
      credentialSource: 'emulator-default',
      emulator: true,
    });
    expect(config.credentials?.accessKeyId).toBeTruthy();
  });

  it('flags beat the environment for credentials', () => {
    const config = resolveAwsConfig(
      { accessKeyId: 'FLAGKEY', secretAccessKey: 'flag-secret' },
      { AWS_REGION: 'r', AWS_ACCESS_KEY_ID: 'ENV', AWS_SECRET_ACCESS_KEY: 'env' },
    );
    expect(config.credentials).toEqual({ accessKeyId: 'FLAGKEY', secretAccessKey: 'flag-secret' });
    expect(config.credentialSource).toBe('flags');
  });

  it('the TLS endpoint for enhanced fan-out comes from KINESIS_TLS_ENDPOINT or an https Kinesis endpoint', () => {
    expect(
      resolveAwsConfig(
        {},
        {
          KINESIS_ENDPOINT: 'http://127.0.0.1:1',
          KINESIS_TLS_ENDPOINT: 'https://127.0.0.1:2',
          DYNAMODB_ENDPOINT: 'http://127.0.0.1:3',
        },
      ).kinesisTlsEndpoint,
    ).toBe('https://127.0.0.1:2');
    expect(resolveAwsConfig({ endpoint: 'https://localhost:4566' }, {}).kinesisTlsEndpoint).toBe(
      'https://localhost:4566',
    );
    expect(
      resolveAwsConfig({ endpoint: 'http://localhost:4566' }, {}).kinesisTlsEndpoint,
    ).toBeUndefined();
  });

  it('bad endpoints from the environment are usage errors', () => {
    expect(() => resolveAwsConfig({}, { AWS_REGION: 'r', KINESIS_ENDPOINT: 'not a url' })).toThrow(
      /not an http\(s\) URL/,
    );
  });

  it('describeTarget names where credentials came from, never the credentials', () => {
    const config = resolveAwsConfig(
      {},
      {
        AWS_REGION: 'eu-west-1',
        AWS_ACCESS_KEY_ID: 'AKIAREALKEY',
        AWS_SECRET_ACCESS_KEY: 'very-secret',
        AWS_SESSION_TOKEN: 'session-tok',
      },
    );
    const text = describeTarget(config);
    expect(text).toContain('eu-west-1');
    expect(text).toContain('credentials from environment');
    for (const secret of ['AKIAREALKEY', 'very-secret', 'session-tok'])
      expect(text).not.toContain(secret);
  });
});
