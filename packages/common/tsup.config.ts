import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.shared';

// ListShards paging is its own entry so that the root one stays free of the AWS SDK: the format
// package depends on this one and must load without the SDK installed.
// `http-handlers` carries @smithy/node-http-handler's ES module build inside it (see that file):
// only @smithy/* is bundled, read through `module` before `main`.
export default defineConfig(
  packageBuild(
    {
      index: 'src/index.ts',
      'list-shards': 'src/list-shards.ts',
      'http-handlers': 'src/http-handlers.ts',
    },
    {
      noExternal: [/^@smithy\//],
      esbuildOptions(options) {
        options.mainFields = ['module', 'main'];
      },
    },
  ),
);
