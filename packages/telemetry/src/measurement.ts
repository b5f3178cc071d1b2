import { ConfigError } from '@shardline/common';

/**
 * One value to record under a KPL or KCL metric name. Both sinks (OpenTelemetry, CloudWatch
 * EMF) take these, so each name, unit and dimension is decided once, here and in the two
 * mapping tables.
 */
export interface Measurement {
  /** The KPL's or the KCL's metric name where one exists (e.g. `UserRecordsPut`). */
  name: string;
  /**
   * `count`: a monotonic sum (OpenTelemetry counter, EMF `Count`); `histogram`: a distribution of
   * single observations (latencies, sizes); `gauge`: a level that goes up and down (lease counts).
   */
  kind: 'count' | 'histogram' | 'gauge';
  /** For `gauge`, the change of the level (+1, -1), not the level itself. */
  value: number;
  unit: Unit;
  /** Dimensions, named as the KPL and KCL name them (`StreamName`, `ShardId`, `ErrorCode`, ...). */
  dimensions: Readonly<Record<string, string>>;
}

/** CloudWatch units in use (EMF takes them as they are; OpenTelemetry gets UCUM, see `ucum`). */
export type Unit = 'Count' | 'Milliseconds' | 'Bytes';

/** The UCUM unit OpenTelemetry expects for a CloudWatch unit. */
export function ucum(unit: Unit): string {
  return unit === 'Milliseconds' ? 'ms' : unit === 'Bytes' ? 'By' : '{count}';
}

/**
 * How fine the dimensions are, as the KPL's `metrics_granularity`: `shard` (the KPL's default)
 * adds `ShardId` where the event has one; `stream` stops at `StreamName`, for fleets where one
 * time series per shard costs too much; `global` drops both.
 */
export type Granularity = 'global' | 'stream' | 'shard';

/** Options every mapping takes. */
export interface MappingOptions {
  /** Stream name, added as the `StreamName` dimension (the events do not carry it). */
  streamName?: string;
  /** Default `shard`. */
  granularity?: Granularity;
  /** Extra dimensions on every measurement (for example `{ Application: 'orders' }`). */
  dimensions?: Readonly<Record<string, string>>;
}

/** A count measurement (a sum over time), in `Count` unless said. */
export function count(
  name: string,
  value: number,
  dimensions: Record<string, string>,
  unit: Unit = 'Count',
): Measurement {
  return { name, kind: 'count', value, unit, dimensions };
}

/** One observation of a distribution (a latency, a size). */
export function histogram(
  name: string,
  value: number,
  unit: Unit,
  dimensions: Record<string, string>,
): Measurement {
  return { name, kind: 'histogram', value, unit, dimensions };
}

/** Builds the dimensions for one event, honouring the granularity. */
export function dimensionsFor(
  options: MappingOptions,
  shardId: string | undefined,
  extra?: Record<string, string>,
): Record<string, string> {
  const granularity = options.granularity ?? 'shard';
  const out: Record<string, string> = { ...options.dimensions };
  if (granularity !== 'global' && options.streamName) out.StreamName = options.streamName;
  if (granularity === 'shard' && shardId !== undefined) out.ShardId = shardId;
  return extra ? Object.assign(out, extra) : out;
}

/**
 * Checks mapping options given at run time: a typo in `granularity` would otherwise silently mean
 * `shard`, and a dimension set past EMF's 30 keys would be refused by CloudWatch.
 */
export function checkMappingOptions(options: MappingOptions): void {
  const granularity: unknown = options.granularity;
  if (
    granularity !== undefined &&
    granularity !== 'global' &&
    granularity !== 'stream' &&
    granularity !== 'shard'
  )
    throw new ConfigError(
      `granularity must be 'global', 'stream' or 'shard', got ${JSON.stringify(granularity)}`,
    );
  const extra = Object.entries(options.dimensions ?? {});
  // The mappings add up to four of their own (StreamName, ShardId, Operation, ErrorCode/Action).
  if (extra.length > 26) throw new ConfigError(`at most 26 extra dimensions, got ${extra.length}`);
  for (const [key, value] of extra)
    if (typeof value !== 'string' || value.length === 0 || value.length > 1024)
      throw new ConfigError(`dimension ${key} must be a string of 1-1024 characters`);
}
