/** Which backend the integration suites run against, as the global setup hands it to tests. */
export interface BackendInfo {
  kind: 'embedded' | 'localstack' | 'endpoint';
  /** Part of every name the run's tests create, so the run removes exactly what it made (run-resources.ts). */
  runId: string;
  region: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Plain endpoint for unary calls (HTTP/1.1). Absent: the SDK's default (real AWS). */
  kinesisEndpoint?: string;
  /** TLS endpoint for enhanced fan-out (HTTP/2). Absent: the SDK's default (real AWS). */
  kinesisTlsEndpoint?: string;
  dynamodbEndpoint?: string;
  /** True for local emulators: a self-signed certificate may be accepted for them, never for AWS. */
  emulator: boolean;
}

declare module 'vitest' {
  export interface ProvidedContext {
    shardlineBackend: BackendInfo;
  }
}
