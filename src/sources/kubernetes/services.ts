import {
  CoreV1Api,
  DiscoveryV1Api,
  type KubeConfig,
  type V1EndpointSlice,
  type V1Service,
  type V1ServicePort,
} from '@kubernetes/client-node';
import type { Backoff } from './informer.ts';
import type { Namespaces } from './namespaces.ts';
import { WatchedResources } from './watched-resources.ts';

/** One endpoint of a Service as Envoy gets it. */
export interface ReadyEndpoint {
  readonly address: string;
  readonly port: number;
  /** Terminating, still serving: no new requests, those under way finish. */
  readonly draining: boolean;
}

export type ServiceResolution =
  { readonly endpoints: readonly ReadyEndpoint[] } | { readonly problem: string };

/** "namespace/name": how Services are keyed. */
export function serviceKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** The label by which an EndpointSlice names its Service. */
const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

function portText(port: V1ServicePort): string {
  return port.name === undefined || port.name === ''
    ? String(port.port)
    : `${String(port.port)} (${port.name})`;
}

/**
 * What an EndpointSlice's endpoint means for traffic: ready ones take it;
 * terminating ones that still serve finish what they have (draining); the
 * rest take none. A condition left unset means ready, as the API says.
 */
function endpointState(conditions: V1EndpointSlice['endpoints'][number]['conditions']) {
  if (conditions?.terminating === true) {
    return (conditions.serving ?? conditions.ready ?? false) ? 'draining' : undefined;
  }
  return conditions?.ready === false ? undefined : 'ready';
}

/** A Service port's endpoints across its slices: each address once, ready before draining. */
export function sliceEndpoints(
  slices: Iterable<V1EndpointSlice>,
  servicePort: Pick<V1ServicePort, 'name' | 'protocol'>,
): ReadyEndpoint[] {
  const byAddress = new Map<string, ReadyEndpoint>();
  for (const slice of slices) {
    // FQDN slices name hosts, not addresses: no EDS endpoint can be made of them.
    if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') continue;
    // A slice's port of the same name as the Service's (both unnamed for a one-port Service).
    const port = slice.ports?.find(
      (p) =>
        (p.name ?? '') === (servicePort.name ?? '') &&
        (p.protocol ?? 'TCP') === (servicePort.protocol ?? 'TCP'),
    );
    if (port?.port === undefined || port.port < 1 || port.port > 65535) continue;
    for (const endpoint of slice.endpoints) {
      const state = endpointState(endpoint.conditions);
      // Consumers use the first address: the others are the same endpoint's.
      const address = endpoint.addresses[0];
      if (state === undefined || address === undefined) continue;
      const key = `${address} ${String(port.port)}`;
      const draining = state === 'draining';
      if (byAddress.get(key)?.draining === false) continue;
      byAddress.set(key, { address, port: port.port, draining });
    }
  }
  return [...byAddress.values()].sort((a, b) =>
    a.address === b.address ? a.port - b.port : a.address < b.address ? -1 : 1,
  );
}

export interface ServiceIndexOptions {
  readonly kubeConfig: KubeConfig;
  readonly namespaces: Namespaces;
  /** Services whose endpoints may have changed, by key; several changes at once come together. */
  readonly onChange: (services: ReadonlySet<string>) => void;
  readonly log: (line: string) => void;
  readonly backoff?: Backoff | undefined;
}

/**
 * The Services and EndpointSlices of the watched namespaces, followed by
 * informers: a Service's endpoints on one of its ports, as they are now.
 */
export class ServiceIndex {
  readonly #options: ServiceIndexOptions;
  readonly #services: WatchedResources<V1Service>;
  readonly #slices: WatchedResources<V1EndpointSlice>;
  /** Slices by Service key, then by slice name. */
  readonly #slicesByService = new Map<string, Map<string, V1EndpointSlice>>();
  /** The Service key each slice was filed under, by "namespace/slice". */
  readonly #serviceOfSlice = new Map<string, string>();
  readonly #changed = new Set<string>();
  #flush: NodeJS.Immediate | undefined;

  constructor(options: ServiceIndexOptions) {
    this.#options = options;
    const core = options.kubeConfig.makeApiClient(CoreV1Api);
    const discovery = options.kubeConfig.makeApiClient(DiscoveryV1Api);
    const common = {
      kubeConfig: options.kubeConfig,
      namespaces: options.namespaces,
      log: options.log,
      backoff: options.backoff,
    };
    this.#services = new WatchedResources<V1Service>({
      ...common,
      plural: 'services',
      apiPath: '/api/v1',
      list: (namespace) =>
        namespace === undefined
          ? core.listServiceForAllNamespaces()
          : core.listNamespacedService({ namespace }),
      onChange: (service) => {
        this.#changedService(
          serviceKey(service.metadata?.namespace ?? '', service.metadata?.name ?? ''),
        );
      },
    });
    this.#slices = new WatchedResources<V1EndpointSlice>({
      ...common,
      plural: 'endpointslices',
      apiPath: '/apis/discovery.k8s.io/v1',
      list: (namespace) =>
        namespace === undefined
          ? discovery.listEndpointSliceForAllNamespaces()
          : discovery.listNamespacedEndpointSlice({ namespace }),
      onChange: (slice, deleted) => {
        this.#fileSlice(slice, deleted);
      },
    });
  }

  start(): void {
    this.#services.start();
    this.#slices.start();
  }

  async stop(): Promise<void> {
    clearImmediate(this.#flush);
    await Promise.all([this.#services.stop(), this.#slices.stop()]);
  }

  get synced(): boolean {
    return this.#services.synced && this.#slices.synced;
  }

  async waitForSync(): Promise<void> {
    await Promise.all([this.#services.waitForSync(), this.#slices.waitForSync()]);
  }

  /** A Service's endpoints on a port (its number or name), or why there are none. */
  resolve(namespace: string, name: string, port: number | string): ServiceResolution {
    if (!this.#services.watches(namespace)) {
      return { problem: `namespace ${namespace} is not watched (--namespaces)` };
    }
    const service = this.#services.get(namespace, name);
    if (!service) return { problem: `Service ${serviceKey(namespace, name)} not found` };
    if (service.spec?.type === 'ExternalName') {
      return {
        problem: `Service ${serviceKey(namespace, name)} is of type ExternalName, which has no endpoints`,
      };
    }
    const ports = service.spec?.ports ?? [];
    const servicePort = ports.find((p) =>
      typeof port === 'number' ? p.port === port : p.name === port,
    );
    if (!servicePort) {
      const known = ports.length === 0 ? 'none' : ports.map(portText).join(', ');
      return {
        problem: `Service ${serviceKey(namespace, name)} has no port ${typeof port === 'number' ? String(port) : `named ${port}`} (its ports: ${known})`,
      };
    }
    const slices = this.#slicesByService.get(serviceKey(namespace, name))?.values() ?? [];
    return { endpoints: sliceEndpoints(slices, servicePort) };
  }

  #fileSlice(slice: V1EndpointSlice, deleted: boolean): void {
    const namespace = slice.metadata?.namespace ?? '';
    const sliceName = slice.metadata?.name ?? '';
    const sliceKey = `${namespace}/${sliceName}`;
    const before = this.#serviceOfSlice.get(sliceKey);
    const label = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
    const after = deleted || label === undefined ? undefined : serviceKey(namespace, label);
    if (before !== undefined && before !== after) {
      const slices = this.#slicesByService.get(before);
      slices?.delete(sliceName);
      if (slices?.size === 0) this.#slicesByService.delete(before);
      this.#serviceOfSlice.delete(sliceKey);
      this.#changedService(before);
    }
    if (after === undefined) return;
    let slices = this.#slicesByService.get(after);
    if (!slices) {
      slices = new Map();
      this.#slicesByService.set(after, slices);
    }
    slices.set(sliceName, slice);
    this.#serviceOfSlice.set(sliceKey, after);
    this.#changedService(after);
  }

  #changedService(key: string): void {
    this.#changed.add(key);
    this.#flush ??= setImmediate(() => {
      this.#flush = undefined;
      const changed = new Set(this.#changed);
      this.#changed.clear();
      this.#options.onChange(changed);
    });
  }
}
