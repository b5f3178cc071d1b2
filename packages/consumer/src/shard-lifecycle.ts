// The state machine lives with the tasks it drives (lifecycle/); this path stays for importers.
export { canTransition, ShardLifecycle, type ShardState } from './lifecycle/shard-lifecycle';
