import type { ConsumerMetricEvent } from '@shardline/consumer';
import type { MetricEvent } from '@shardline/producer';
import { ConfigError } from '@shardline/common';
import { consumerMeasurements } from './consumer-metrics';
import {
  checkMappingOptions,
  type MappingOptions,
  type Measurement,
  type Unit,
} from './measurement';
import { producerMeasurements } from './producer-metrics';

/** Limits of the EMF specification that a document must keep. */
export const EMF_LIMITS = {
  /** Metric definitions in one directive. */
  metricsPerDocument: 100,
  /** Values of one metric in one document. */
  valuesPerMetric: 100,
  /** Keys of one dimension set. */
  dimensionsPerSet: 30,
} as const;

/** Options of {@link EmfMetrics}. */
export interface EmfOptions {
  /** CloudWatch namespace the metrics go to, e.g. `Shardline` or `orders/stream`. Required. */
  namespace: string;
  /**
   * Where each EMF document goes, one JSON line per call. Default: `process.stdout`, which Lambda
   * and the CloudWatch agent read. To write through a logger, pass
   * `(line) => logger.info(JSON.parse(line))`: the document's members then sit at the root of the
   * log line, where EMF reads them.
   */
  write?: (line: string) => void;
  /**
   * How often collected values are written. Default 60,000 ms (one CloudWatch period). `0`:
   * only when `flush()` is called (in Lambda, call it before the handler returns).
   */
  flushIntervalMillis?: number;
  /** `1` for high-resolution metrics, `60` (the default) for standard ones. */
  storageResolution?: 1 | 60;
  /** Clock for document timestamps (tests). Default `Date.now`. */
  now?: () => number;
  /** Source of randomness for histogram sampling (tests). Default `Math.random`. */
  random?: () => number;
}

/**
 * Collects metrics and writes them as CloudWatch Embedded Metric Format documents: JSON log lines
 * that CloudWatch Logs turns into metrics, with no AWS dependency and no API call.
 *
 * Counts are summed per interval. A histogram (a latency, a size) keeps, per interval and per
 * series, its exact count, minimum and maximum and a uniform sample of at most 100 values (the
 * EMF limit for one metric in one document), the minimum and maximum always among them, so
 * CloudWatch's percentiles are estimates past 100 observations an interval. `CurrentLeases` is a
 * level and is written at every flush.
 *
 * ```ts
 * const emf = new EmfMetrics({ namespace: 'Orders' });
 * new Producer({ streamName, onMetric: emf.producer({ streamName }) });
 * new Consumer({ ..., onMetric: emf.consumer({ streamName }) });
 * // Lambda: await handler work, then emf.flush();  services: emf.close() at shutdown
 * ```
 */
export class EmfMetrics {
  private readonly series = new Map<string, Series>();
  private readonly write: (line: string) => void;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly namespace: string;
  private readonly storageResolution: 1 | 60;
  private timer: NodeJS.Timeout | undefined;

  constructor(options: EmfOptions) {
    if (
      !options ||
      typeof options.namespace !== 'string' ||
      !/^[^:\s][\x20-\x7e]{0,254}$/.test(options.namespace) ||
      options.namespace.startsWith('AWS/')
    )
      throw new ConfigError(
        `namespace must be 1-255 printable ASCII characters, not starting with a colon, a space or 'AWS/', got ${JSON.stringify(options?.namespace)}`,
      );
    if (options.storageResolution !== undefined && ![1, 60].includes(options.storageResolution))
      throw new ConfigError('storageResolution must be 1 or 60');
    const interval = options.flushIntervalMillis ?? 60_000;
    if (!Number.isInteger(interval) || interval < 0)
      throw new ConfigError('flushIntervalMillis must be an integer >= 0');
    this.namespace = options.namespace;
    this.storageResolution = options.storageResolution ?? 60;
    this.write = options.write ?? ((line) => void process.stdout.write(`${line}\n`));
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    if (interval > 0) {
      this.timer = setInterval(() => this.flush(), interval);
      this.timer.unref();
    }
  }

  /** An `onMetric` hook for a producer: the KPL's metric names (see `producerMeasurements`). */
  producer(options: MappingOptions = {}): (event: MetricEvent) => void {
    checkMappingOptions(options);
    return (event) => this.record(producerMeasurements(event, options));
  }

  /** An `onMetric` hook for a consumer: the KCL's metric names (see `consumerMeasurements`). */
  consumer(options: MappingOptions = {}): (event: ConsumerMetricEvent) => void {
    checkMappingOptions(options);
    return (event) => this.record(consumerMeasurements(event, options));
  }

  /** Adds measurements (from the mappings, or your own). */
  record(measurements: readonly Measurement[]): void {
    for (const m of measurements) {
      const key = seriesKey(m);
      let s = this.series.get(key);
      if (!s) {
        s = { name: m.name, kind: m.kind, unit: m.unit, dimensions: m.dimensions, ...empty() };
        this.series.set(key, s);
      }
      if (m.kind === 'count') s.sum += m.value;
      else if (m.kind === 'gauge') s.level += m.value;
      else this.observe(s, m.value);
      s.touched = true;
    }
  }

  /** Writes what was collected since the last flush, one document per dimension set. */
  flush(): void {
    const groups = new Map<string, Series[]>();
    for (const [key, s] of this.series) {
      if (s.kind !== 'gauge' && !s.touched) {
        this.series.delete(key);
        continue;
      }
      const group = dimensionKey(s.dimensions);
      const list = groups.get(group);
      if (list) list.push(s);
      else groups.set(group, [s]);
    }
    const timestamp = this.now();
    for (const list of groups.values()) {
      for (let i = 0; i < list.length; i += EMF_LIMITS.metricsPerDocument)
        this.writeDocument(timestamp, list.slice(i, i + EMF_LIMITS.metricsPerDocument));
    }
    for (const s of this.series.values()) Object.assign(s, { ...empty(), level: s.level });
  }

  /** Flushes and stops the interval timer. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.flush();
  }

  private writeDocument(timestamp: number, list: Series[]): void {
    const dimensions = list[0]!.dimensions;
    const keys = Object.keys(dimensions);
    const document: Record<string, unknown> = {
      _aws: {
        Timestamp: timestamp,
        CloudWatchMetrics: [
          {
            Namespace: this.namespace,
            Dimensions: [keys],
            Metrics: list.map((s) => ({
              Name: s.name,
              Unit: s.unit satisfies Unit,
              ...(this.storageResolution === 1 ? { StorageResolution: 1 } : {}),
            })),
          },
        ],
      },
    };
    for (const key of keys) document[key] = dimensions[key];
    for (const s of list) {
      document[s.name] = s.kind === 'count' ? s.sum : s.kind === 'gauge' ? s.level : sampleOf(s);
    }
    this.write(JSON.stringify(document));
  }

  /** Reservoir sampling (algorithm R); the minimum and maximum are put in at write time. */
  private observe(s: Series, value: number): void {
    s.count += 1;
    if (s.count === 1 || value < s.min) s.min = value;
    if (s.count === 1 || value > s.max) s.max = value;
    if (s.sample.length < EMF_LIMITS.valuesPerMetric) s.sample.push(value);
    else {
      const slot = Math.floor(this.random() * s.count);
      if (slot < EMF_LIMITS.valuesPerMetric) s.sample[slot] = value;
    }
  }
}

/** The values written for a histogram: its sample, holding the interval's minimum and maximum. */
function sampleOf(s: Series): number[] {
  const sample = [...s.sample];
  if (s.count > sample.length) {
    ensure(sample, s.min, s.max);
    ensure(sample, s.max, s.min);
  }
  return sample;
}

interface Series {
  name: string;
  kind: Measurement['kind'];
  unit: Unit;
  dimensions: Readonly<Record<string, string>>;
  sum: number;
  level: number;
  count: number;
  min: number;
  max: number;
  sample: number[];
  touched: boolean;
}

function empty() {
  return { sum: 0, level: 0, count: 0, min: 0, max: 0, sample: [] as number[], touched: false };
}

/** Puts `value` into the sample if it is missing, in place of an element that is not `keep`. */
function ensure(sample: number[], value: number, keep: number): void {
  if (sample.includes(value)) return;
  const slot = sample.findIndex((v) => v !== keep);
  sample[slot === -1 ? 0 : slot] = value;
}

function dimensionKey(dimensions: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.entries(dimensions).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function seriesKey(m: Measurement): string {
  return `${m.name}\u0000${dimensionKey(m.dimensions)}`;
}
