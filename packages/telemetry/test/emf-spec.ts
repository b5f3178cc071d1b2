import { EMF_LIMITS } from '../src/emf';

const UNITS = new Set([
  'Seconds',
  'Microseconds',
  'Milliseconds',
  'Bytes',
  'Kilobytes',
  'Megabytes',
  'Gigabytes',
  'Terabytes',
  'Bits',
  'Kilobits',
  'Megabits',
  'Gigabits',
  'Terabits',
  'Percent',
  'Count',
  'Bytes/Second',
  'Kilobytes/Second',
  'Megabytes/Second',
  'Gigabytes/Second',
  'Terabytes/Second',
  'Bits/Second',
  'Kilobits/Second',
  'Megabits/Second',
  'Gigabits/Second',
  'Terabits/Second',
  'Count/Second',
  'None',
]);

/**
 * The structure rules of CloudWatch's "Specification: Embedded metric format", as a checker:
 * returns every violation in one document (an empty list for a valid one).
 *
 * - the root is an object with an `_aws` object holding `Timestamp` (a number of milliseconds)
 *   and `CloudWatchMetrics` (an array of directives);
 * - a directive has `Namespace` (a non-empty string), `Dimensions` (an array of dimension sets,
 *   each an array of at most 30 strings) and `Metrics` (at most 100 definitions);
 * - a definition has `Name` (a string), optionally `Unit` (a CloudWatch unit) and
 *   `StorageResolution` (1 or 60), and nothing else;
 * - every dimension key names a root member holding a string (at most 1024 characters), and every
 *   metric name a root member holding a number or an array of at most 100 numbers.
 */
export function emfViolations(line: string): string[] {
  const errors: string[] = [];
  let root: unknown;
  try {
    root = JSON.parse(line);
  } catch {
    return ['not JSON'];
  }
  if (!isObject(root)) return ['root is not an object'];
  const aws = root._aws;
  if (!isObject(aws)) return ['_aws missing'];
  if (typeof aws.Timestamp !== 'number' || !Number.isInteger(aws.Timestamp))
    errors.push('_aws.Timestamp is not an integer number');
  if (!Array.isArray(aws.CloudWatchMetrics)) return [...errors, 'CloudWatchMetrics not an array'];
  for (const directive of aws.CloudWatchMetrics as unknown[]) {
    if (!isObject(directive)) {
      errors.push('directive not an object');
      continue;
    }
    const extra = Object.keys(directive).filter(
      (k) => !['Namespace', 'Dimensions', 'Metrics'].includes(k),
    );
    if (extra.length) errors.push(`directive has unknown members ${extra.join(',')}`);
    if (typeof directive.Namespace !== 'string' || directive.Namespace.length === 0)
      errors.push('Namespace missing');
    if (!Array.isArray(directive.Dimensions)) errors.push('Dimensions not an array');
    else
      for (const set of directive.Dimensions as unknown[]) {
        if (!Array.isArray(set) || set.some((k) => typeof k !== 'string'))
          errors.push('dimension set not an array of strings');
        else if (set.length > EMF_LIMITS.dimensionsPerSet)
          errors.push(`dimension set of ${set.length} keys`);
        else
          for (const key of set as string[]) {
            const value = root[key];
            if (typeof value !== 'string') errors.push(`dimension ${key} has no string member`);
            else if (value.length > 1024) errors.push(`dimension ${key} too long`);
          }
      }
    if (!Array.isArray(directive.Metrics)) {
      errors.push('Metrics not an array');
      continue;
    }
    if (directive.Metrics.length > EMF_LIMITS.metricsPerDocument)
      errors.push(`${directive.Metrics.length} metric definitions`);
    for (const definition of directive.Metrics as unknown[]) {
      if (!isObject(definition) || typeof definition.Name !== 'string') {
        errors.push('metric definition without Name');
        continue;
      }
      const unknownKeys = Object.keys(definition).filter(
        (k) => !['Name', 'Unit', 'StorageResolution'].includes(k),
      );
      if (unknownKeys.length)
        errors.push(`definition has unknown members ${unknownKeys.join(',')}`);
      if (definition.Unit !== undefined && !UNITS.has(definition.Unit as string))
        errors.push(`unit ${String(definition.Unit)}`);
      if (
        definition.StorageResolution !== undefined &&
        definition.StorageResolution !== 1 &&
        definition.StorageResolution !== 60
      )
        errors.push('StorageResolution not 1 or 60');
      const value = root[definition.Name];
      const ok =
        typeof value === 'number' ||
        (Array.isArray(value) &&
          value.length <= EMF_LIMITS.valuesPerMetric &&
          value.every((v) => typeof v === 'number'));
      if (!ok) errors.push(`metric ${definition.Name} has no number (or <= 100 numbers) member`);
    }
  }
  return errors;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
