import type { Counter, Histogram, Meter, UpDownCounter } from '@opentelemetry/api';
import type { ConsumerMetricEvent } from '@shardline/consumer';
import type { MetricEvent } from '@shardline/producer';
import { ConfigError } from '@shardline/common';
import { consumerMeasurements } from './consumer-metrics';
import { checkMappingOptions, ucum, type MappingOptions, type Measurement } from './measurement';
import { producerMeasurements } from './producer-metrics';

/** Options of {@link otelProducerMetrics} and {@link otelConsumerMetrics}. */
export interface OtelMetricsOptions extends MappingOptions {
  /**
   * The meter to record on, e.g. `metrics.getMeter('orders-service')` from `@opentelemetry/api`.
   * Required: this package never loads `@opentelemetry/api` itself (it is an optional peer), so
   * the meter, and the SDK and exporter behind it, are the application's.
   */
  meter: Meter;
}

/**
 * An `onMetric` hook for `new Producer(...)` that records the KPL's metrics on an OpenTelemetry
 * meter: counters for counts, histograms for latencies and sizes (see `producerMeasurements` for
 * the names and dimensions).
 *
 * ```ts
 * import { metrics } from '@opentelemetry/api';
 * new Producer({ streamName, onMetric: otelProducerMetrics({ meter: metrics.getMeter('orders'), streamName }) });
 * ```
 */
export function otelProducerMetrics(options: OtelMetricsOptions): (event: MetricEvent) => void {
  const sink = new OtelSink(options);
  return (event) => sink.record(producerMeasurements(event, options));
}

/**
 * An `onMetric` hook for `new Consumer(...)` (and the Lambda adapter's events) that records the
 * KCL's metrics on an OpenTelemetry meter; `CurrentLeases` is an up-down counter.
 */
export function otelConsumerMetrics(
  options: OtelMetricsOptions,
): (event: ConsumerMetricEvent) => void {
  const sink = new OtelSink(options);
  return (event) => sink.record(consumerMeasurements(event, options));
}

type Instrument = Counter | Histogram | UpDownCounter;

/** Creates each instrument once, on first use, with the measurement's kind and unit. */
class OtelSink {
  private readonly instruments = new Map<string, Instrument>();
  private readonly meter: Meter;

  constructor(options: OtelMetricsOptions) {
    if (!options || typeof options.meter?.createCounter !== 'function')
      throw new ConfigError('meter (an OpenTelemetry Meter) is required');
    checkMappingOptions(options);
    this.meter = options.meter;
  }

  record(measurements: Measurement[]): void {
    for (const m of measurements) {
      const instrument = this.instruments.get(m.name) ?? this.create(m);
      if (m.kind === 'histogram') (instrument as Histogram).record(m.value, m.dimensions);
      else (instrument as Counter | UpDownCounter).add(m.value, m.dimensions);
    }
  }

  private create(m: Measurement): Instrument {
    const options = { unit: ucum(m.unit), description: DESCRIPTIONS[m.name] ?? m.name };
    const instrument =
      m.kind === 'histogram'
        ? this.meter.createHistogram(m.name, options)
        : m.kind === 'gauge'
          ? this.meter.createUpDownCounter(m.name, options)
          : this.meter.createCounter(m.name, options);
    this.instruments.set(m.name, instrument);
    return instrument;
  }
}

/** One line per metric, shown by metric backends beside the name. */
const DESCRIPTIONS: Record<string, string> = {
  UserRecordsReceived: 'User records accepted by put',
  UserRecordsPut: 'User records put successfully',
  BufferingTime: 'Time from put to the outcome of a user record',
  RetriesPerRecord: 'Retries a successful user record needed',
  ErrorsByCode: 'Errors, by error code',
  AllErrors: 'Errors of every code',
  UserRecordExpired: 'User records that failed their time to live',
  KinesisRecordsPut: 'Kinesis records (aggregates or single records) put successfully',
  KinesisRecordsDataPut: 'Bytes in Kinesis records put successfully',
  UserRecordsPerKinesisRecord: 'User records in one Kinesis record',
  RequestTime: 'Duration of one PutRecords call',
  KinesisRecordsPerPutRecordsRequest: 'Kinesis records in one PutRecords call',
  ShardMapRefreshes: 'Shard map reloads',
  RecordsProcessed: 'User records delivered to the processor',
  MillisBehindLatest: 'How far the reader is behind the tip of the shard',
  Checkpoints: 'Checkpoints written',
  TakenLeases: 'Leases this worker took',
  LostLeases: 'Leases this worker lost',
  HandedOffLeases: 'Leases this worker handed over gracefully',
  CurrentLeases: 'Leases this worker holds',
  LeaseStealRequests: 'Leases this worker asked another worker to hand over',
  ShardsEnded: 'Shards processed to their end',
  Stalls: 'Reads that stalled and were restarted',
  SlowProcessorCalls: 'Processor calls that ran past the stall timeout',
  OutOfRangeRecords: 'User records of aggregates that hash outside their shard',
  ProcessorErrors: 'Processor calls that threw',
  PoisonRecords: 'Records that could not be decoded',
  ReadErrors: 'Failed reads (GetRecords or SubscribeToShard), by error code',
  RetryBudgetSpentRecords:
    'Records whose retry budget was spent (sent to the dead-letter destination)',
  BatchBisections: 'Failing batches split in two',
  DeadLetteredRecords: 'Records the dead-letter destination acknowledged',
  DeadLetterErrors: 'Failed sends to the dead-letter destination (the shard waits)',
};
