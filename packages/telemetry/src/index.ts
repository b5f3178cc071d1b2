// Shardline's metrics in the ecosystem's formats: OpenTelemetry and CloudWatch EMF, under the
// KPL's and the KCL's metric names.
export { EmfMetrics, EMF_LIMITS } from './emf';
export type { EmfOptions } from './emf';
export { otelProducerMetrics, otelConsumerMetrics } from './otel';
export type { OtelMetricsOptions } from './otel';
export { producerMeasurements } from './producer-metrics';
export { consumerMeasurements } from './consumer-metrics';
export { checkMappingOptions, dimensionsFor, ucum } from './measurement';
export type { Granularity, MappingOptions, Measurement, Unit } from './measurement';
export { otelTraceContext, tracedProcessor, tracedRecordHandler, spanContextOf } from './traces';
export type { OtelApi, OtelTraceContextOptions, TraceHeaders, TracingOptions } from './traces';
