export { FakeKinesis } from './fake-kinesis';
export type { FakeKinesisOptions, FakeStats } from './fake-kinesis';
export type { FaultRule, FaultKind, FaultHandle } from './faults';
export type { ShardState, StoredRecord } from './streams';
