import { isIpAddress } from '../spec/address.ts';
import { ADS_CONFIG_SOURCE } from './config-source.ts';
import { typed } from './type-urls.ts';

/**
 * Which certificate an upstream must present: one naming `serverName` in a
 * subjectAltName. A DNS name is also sent as SNI; an IP address is matched
 * against the certificate's IP SANs (SNI carries no addresses).
 */
function identityOf(serverName: string) {
  const ip = isIpAddress(serverName);
  return {
    sni: ip ? undefined : serverName,
    sans: [{ san_type: ip ? 'IP_ADDRESS' : 'DNS', matcher: { exact: serverName } }],
  };
}

function tlsSocket(
  sni: string | undefined,
  alpn: string,
  commonTlsContext: Record<string, unknown>,
) {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': typed('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext'),
      ...(sni !== undefined && { sni }),
      // Node's servers take the protocol ALPN names, not the one Envoy would guess.
      common_tls_context: { alpn_protocols: [alpn], ...commonTlsContext },
    },
  };
}

/**
 * TLS to an upstream whose certificate a CA bundle, carried in the
 * resource itself, vouches for: the control plane sends a new bundle when
 * its file changes.
 */
export function inlineCaTlsSocket(caPem: string, serverName: string, alpn: string) {
  const { sni, sans } = identityOf(serverName);
  return tlsSocket(sni, alpn, {
    validation_context: {
      trusted_ca: { inline_string: caPem },
      match_typed_subject_alt_names: sans,
    },
  });
}

/** An SDS secret read from a file Envoy watches (written by `switchyard bootstrap`). */
export function fileSecret(name: string, sdsFile: string) {
  return {
    name,
    sds_config: {
      path_config_source: { path: sdsFile },
      resource_api_version: ADS_CONFIG_SOURCE.resource_api_version,
    },
  };
}

/**
 * TLS whose CA bundle and client certificate come from SDS files: Envoy
 * reads the files they name again when they are replaced, so certificates
 * rotate without a restart.
 */
export function sdsTlsSocket(
  serverName: string,
  files: {
    readonly caSds: ReturnType<typeof fileSecret>;
    readonly certificateSds?: ReturnType<typeof fileSecret>;
  },
) {
  const { sni, sans } = identityOf(serverName);
  // The control plane's xDS service: gRPC.
  return tlsSocket(sni, 'h2', {
    ...(files.certificateSds && { tls_certificate_sds_secret_configs: [files.certificateSds] }),
    combined_validation_context: {
      default_validation_context: { match_typed_subject_alt_names: sans },
      validation_context_sds_secret_config: files.caSds,
    },
  });
}
