export { FakeKinesis, fakeKinesisClient } from './fake-kinesis';
export type { FakeKinesisOptions, FakeStats } from './fake-kinesis';
export { FaultPlan, seededRandom, NON_TERMINAL_FAULTS } from './faults';
export type { FaultRule, FaultKind, FaultHandle, MatchableRule } from './faults';
export type { ShardState, StoredRecord } from './streams';
export { readShardRecords } from './read-shard';
export { checkKeyOrder } from './key-order';
export type { KeyOrderReport } from './key-order';
