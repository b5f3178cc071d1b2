import protobuf from 'protobufjs';

/**
 * The KPL's aggregation schema (messages.proto in the KPL), as protobufjs types. The hot paths use
 * the hand-written codec in wire.ts; this schema is the reference it is checked against, and the
 * way to decode an aggregate field by field when debugging one.
 */
const SCHEMA = `
syntax = "proto2";
message AggregatedRecord {
  repeated string partition_key_table = 1;
  repeated string explicit_hash_key_table = 2;
  repeated Record records = 3;
}
message Tag {
  required string key = 1;
  optional string value = 2;
}
message Record {
  required uint64 partition_key_index = 1;
  optional uint64 explicit_hash_key_index = 2;
  required bytes data = 3;
  repeated Tag tags = 4;
}
`;

const root = protobuf.parse(SCHEMA, { keepCase: true }).root;

/** protobufjs type of the KPL `AggregatedRecord` message. */
export const AggregatedRecordType: protobuf.Type = root.lookupType('AggregatedRecord');
