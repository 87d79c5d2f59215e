import * as grpc from '@grpc/grpc-js';

/** The xDS server's certificate and key, and the CA Envoys' client certificates are checked against. */
export interface ServerTlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca?: Buffer;
}

/** Where the material comes from, and its later versions (rotated files). */
export interface ServerTlsSource {
  readonly value: ServerTlsMaterial;
  onChange(listener: (material: ServerTlsMaterial) => void): () => void;
}

type IdentityListener = grpc.experimental.IdentityCertificateUpdateListener;
type CaListener = grpc.experimental.CaCertificateUpdateListener;

/**
 * grpc-js's certificate provider interface over our source: grpc-js calls
 * `setSecureContext` on its running server with every update, so new
 * connections get the rotated certificate and open streams keep theirs.
 * (grpc-js's own FileWatcherCertificateProvider reads the certificate and
 * the key apart, without checking they match, and a mismatch leaves the
 * server refusing every connection until its next read; our source only
 * hands over a pair OpenSSL accepted.)
 */
class SourceCertificateProvider implements grpc.experimental.CertificateProvider {
  readonly #source: ServerTlsSource;
  readonly #identity = new Map<IdentityListener, () => void>();
  readonly #ca = new Map<CaListener, () => void>();

  constructor(source: ServerTlsSource) {
    this.#source = source;
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    const send = ({ cert, key }: ServerTlsMaterial) => {
      listener({ certificate: cert, privateKey: key });
    };
    this.#identity.set(listener, this.#source.onChange(send));
    process.nextTick(send, this.#source.value);
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.#identity.get(listener)?.();
    this.#identity.delete(listener);
  }

  addCaCertificateListener(listener: CaListener): void {
    const send = ({ ca }: ServerTlsMaterial) => {
      listener(ca ? { caCertificate: ca } : null);
    };
    this.#ca.set(listener, this.#source.onChange(send));
    process.nextTick(send, this.#source.value);
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.#ca.get(listener)?.();
    this.#ca.delete(listener);
  }
}

/**
 * TLS credentials for the xDS server that follow `source`. With a CA, every
 * client is asked for a certificate, but one without a valid certificate
 * still completes the handshake: the ADS server then refuses its stream
 * itself, and logs which Envoy it was and why, which a handshake failure
 * inside grpc-js would not let it do.
 */
export function serverCredentials(source: ServerTlsSource): grpc.ServerCredentials {
  const provider = new SourceCertificateProvider(source);
  // grpc-js 1.14 hands its first argument to the credentials as the identity provider and its
  // second as the CA provider (its parameter names say the reverse); null asks no client
  // certificate. A unit test holds both cases to a real TLS client.
  return grpc.experimental.createCertificateProviderServerCredentials(
    provider,
    source.value.ca ? provider : null,
    false,
  );
}
