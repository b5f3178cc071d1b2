/** Usage text, per command and for the whole CLI. */
export const HELP: Record<string, string> = {
  main: `shardline: Kinesis producer and consumer tools for Node.js

Usage: shardline <command> [flags]

Commands:
  produce   send generated records, or NDJSON / raw lines from a file or stdin
  consume   run a consumer worker (leases + checkpoints) and print records or per-shard lag
  leases    list an application's leases and checkpoints, or rewind its checkpoints
  local     start the embedded Kinesis + DynamoDB backend and print its endpoints
  demo      embedded backend + producer + several workers, verified end to end

Run 'shardline <command> --help' for a command's flags.
Endpoint, region and credentials come from flags or the standard AWS environment
(AWS_REGION, AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL_KINESIS, KINESIS_ENDPOINT, ...).
`,
  produce: `Usage: shardline produce --stream S [flags]

Records (generated unless --input is given):
  -n, --count N          records to generate (default 1000; unlimited with --duration alone)
  -d, --duration T       generate for this long: 500ms, 30s, 2m (stops at --count or T, first)
      --size B           bytes of generated data per record: 100, 4k, 1m (default 100)
      --keys K           distinct partition keys key-0..key-(K-1) (default 1000)
  -i, --input PATH|-     read records from a file, or stdin with -
      --format F         ndjson (default): {"partitionKey":..,"data":..,"explicitHashKey"?:..}
                         lines: each line is the data, keyed by --key-template
      --key-template T   partition key for --format lines: {n} line number, {line}, {random} (default {n})
Sending:
  -r, --rate R           records per second: 500 or 500/s or 30000/m (default: as fast as possible)
      --aggregate        KPL aggregation (default)
      --no-aggregate     one Kinesis record per user record
      --compress C       gzip or snappy (default: none)
Output:
      --json             one JSON summary object on stdout: sent, failed, seconds, ...
  -q, --quiet            no progress display (progress goes to stderr)
      --progress-interval T  how often plain progress lines are printed when stderr is not a TTY (default 5s)
      --log-level L      silent (default), error, warn, info, debug, trace: pino logs on stderr
Connection: see 'shardline --help'; flags --region, --endpoint, --kinesis-endpoint,
  --dynamodb-endpoint, --profile, --access-key-id, --secret-access-key, --session-token
`,
  consume: `Usage: shardline consume --stream S --app A [flags]

  -a, --app A            application name; names the DynamoDB lease table
      --fanout NAME      enhanced fan-out through stream consumer NAME (default: polling)
      --from P           trim-horizon, latest (default), ISO 8601 timestamp or epoch seconds
  -p, --print            print every record (else per-shard lag every --lag-interval)
      --json             JSON lines on stdout: records, lag, and a final summary
      --max-records N    stop gracefully after N records
  -d, --duration T       stop gracefully after T (30s, 2m, ...)
      --lag-interval T   how often lag is printed (default 5s)
      --log-level L      pino logs on stderr (default silent)
Ctrl-C stops gracefully: the batch in hand finishes, checkpoints are written, leases released.
Connection flags as for produce.
`,
  leases: `Usage: shardline leases --app A [--stream S] [--json]
       shardline leases rewind --app A --to P [--shard ID]... [--force] [--dry-run] [flags]
       shardline leases rewind --app A --sequence SHARD=SEQ[/SUB]... [flags]

Lists the lease table of application A: shard, owner, leaseCounter, checkpoint/sub-sequence,
parents, children; with --stream also each checkpoint's lag (one GetRecords after it per shard).
  -a, --app A            application name (names the lease table)
      --lease-table T    lease table, when not named after the application
  -s, --stream S         the application's stream: lag; needed by --to TIMESTAMP
      --json             one JSON object on stdout
rewind:
      --to P             trim-horizon, latest, ISO 8601 timestamp or epoch seconds
      --shard ID         only this shard (repeatable; default every lease)
      --sequence S=Q[/N] checkpoint shard S at sequence Q (sub-sequence N; -1 = before Q); repeatable
      --failover-time T  the application's failoverTimeMillis (default 10s): an owned lease is
                         watched this long; it is dead only if its counter never moved
      --force            rewind leases held by running workers: fences them (they stop the shard)
      --dry-run          say what would change, write nothing
Refuses (exit 1, LEASES_IN_USE) while a running worker holds a lease it would change.
Connection flags as for produce.
`,
  local: `Usage: shardline local [--stream NAME[:SHARDS]]... [--json]

Starts kinesis-local and dynalite on free 127.0.0.1 ports (no Docker), creates the streams asked
for, prints endpoints and environment variables to paste, and runs until Ctrl-C.
  -s, --stream NAME[:N]  create stream NAME with N shards (default 1); repeatable
      --json             one JSON object with endpoints, region and env
`,
  demo: `Usage: shardline demo [flags]

Starts the embedded backend, creates a stream, produces records with aggregation and compression,
consumes them with several workers sharing leases, verifies every record arrived (count, checksum),
prints a summary and exits non-zero if anything is missing.
  -n, --records N        records to send (default 20000)
      --shards N         shards of the stream (default 4)
  -w, --workers N        consumer workers sharing the leases (default 3)
      --fanout           read with enhanced fan-out instead of polling
      --compress C       gzip (default) or snappy
      --size B           bytes per record (default 100)
      --timeout T        how long to wait for every record to arrive (default 120s)
      --json             one JSON object: sent, received, duplicates, missing, seconds, ...
`,
};
