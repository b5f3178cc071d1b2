// Preloaded with `node --import` to make the native addon unloadable, as on a platform without a
// prebuilt binary or after `npm install --omit=optional`: resolving `snappy` fails as if absent.
import Module from 'node:module';

const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === 'snappy') {
    const error = new Error(`Cannot find module '${request}'`);
    error.code = 'MODULE_NOT_FOUND';
    throw error;
  }
  return resolve.call(this, request, ...rest);
};
