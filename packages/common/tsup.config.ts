import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.shared';

// ListShards paging is its own entry so that the root one stays free of the AWS SDK: the format
// package depends on this one and must load without the SDK installed.
export default defineConfig(
  packageBuild({ index: 'src/index.ts', 'list-shards': 'src/list-shards.ts' }),
);
