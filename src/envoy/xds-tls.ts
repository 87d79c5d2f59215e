import { dirname, join } from 'node:path';
import { fileSecret, sdsTlsSocket } from './upstream-tls.ts';
import { typed } from './type-urls.ts';

/** Envoy's side of TLS to the control plane: files on Envoy's disk, by absolute path. */
export interface XdsTlsOptions {
  /** The CA bundle the control plane's certificate is checked against. */
  readonly ca: string;
  /** Envoy's client certificate and key, for mutual TLS; it names Envoy's node group. */
  readonly client?: { readonly cert: string; readonly key: string };
  /** The name (DNS or IP) the control plane's certificate must carry. */
  readonly serverName: string;
  /** Where the SDS files that point Envoy at those files are written. */
  readonly sdsDir: string;
}

const SECRET = typed('envoy.extensions.transport_sockets.tls.v3.Secret');
const CA_SECRET = 'switchyard-xds-ca';
const CLIENT_SECRET = 'switchyard-xds-client';

function sdsPaths(sdsDir: string) {
  return { ca: join(sdsDir, 'xds-ca.sds.json'), client: join(sdsDir, 'xds-client.sds.json') };
}

/**
 * A watch on the directory of the files, when they share one: Envoy then
 * reads a certificate and its key again together, checking that neither
 * changed between the two reads, whenever something is renamed into it
 * (how Kubernetes swaps a Secret volume's `..data`, and how `mv` replaces a
 * file). Without it Envoy watches each file's own directory.
 */
function watchedDirectory(files: readonly string[]) {
  const dirs = new Set(files.map((file) => dirname(file)));
  const [dir] = dirs;
  return dirs.size === 1 && dir !== undefined ? { watched_directory: { path: dir } } : {};
}

/**
 * The SDS files of the xDS connection's TLS: each one Secret naming files on
 * disk. A Secret delivered by SDS is the only kind whose files Envoy reads
 * again when they change (static secrets are read once), and the xDS
 * connection cannot take its own secrets from the control plane it has yet
 * to reach; so they come from files.
 */
export function xdsSdsFiles(options: XdsTlsOptions): { path: string; content: unknown }[] {
  const paths = sdsPaths(options.sdsDir);
  const files: { path: string; content: unknown }[] = [
    {
      path: paths.ca,
      content: {
        resources: [
          {
            '@type': SECRET,
            name: CA_SECRET,
            validation_context: {
              trusted_ca: { filename: options.ca },
              ...watchedDirectory([options.ca]),
            },
          },
        ],
      },
    },
  ];
  const { client } = options;
  if (client) {
    files.push({
      path: paths.client,
      content: {
        resources: [
          {
            '@type': SECRET,
            name: CLIENT_SECRET,
            tls_certificate: {
              certificate_chain: { filename: client.cert },
              private_key: { filename: client.key },
              ...watchedDirectory([client.cert, client.key]),
            },
          },
        ],
      },
    });
  }
  return files;
}

/** The xDS cluster's transport socket: the control plane's identity checked, Envoy's presented. */
export function xdsTransportSocket(options: XdsTlsOptions) {
  const paths = sdsPaths(options.sdsDir);
  return sdsTlsSocket(options.serverName, {
    caSds: fileSecret(CA_SECRET, paths.ca),
    ...(options.client && { certificateSds: fileSecret(CLIENT_SECRET, paths.client) }),
  });
}
