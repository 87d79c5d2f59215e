/**
 * Which node group a client certificate entitles an Envoy to. Under mutual
 * TLS the certificate, not the Envoy's own node.cluster, decides: a URI SAN
 * of the form spiffe://<trust domain>/switchyard/group/<group> (the SPIFFE ID
 * shape cert-manager, SPIRE and Istio issue). The trust domain is not
 * checked: the client CA is the trust anchor, and a CA that also issues
 * other workloads' SPIFFE IDs gives them no group path.
 */
export const GROUP_PATH = '/switchyard/group/';

export type PeerGroup =
  { readonly ok: true; readonly group: string } | { readonly ok: false; readonly reason: string };

/**
 * The names of a certificate's subjectAltName as Node's TLS layer prints it:
 * "DNS:a, URI:b", an entry with a comma or quote JSON-quoted (`URI:"x,y"`).
 */
function subjectAltNames(text: string): { type: string; value: string }[] {
  const names: { type: string; value: string }[] = [];
  const entry = /([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/y;
  while (entry.lastIndex < text.length) {
    const match = entry.exec(text);
    if (!match?.[1] || match[2] === undefined) break;
    const raw = match[2];
    names.push({ type: match[1], value: raw.startsWith('"') ? (JSON.parse(raw) as string) : raw });
  }
  return names;
}

/** The group one URI names, if it is a Switchyard group identity. */
function groupOfUri(uri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'spiffe:' || url.host === '' || url.search !== '' || url.hash !== '') {
    return undefined;
  }
  if (!url.pathname.startsWith(GROUP_PATH)) return undefined;
  const segment = url.pathname.slice(GROUP_PATH.length);
  if (segment === '' || segment.includes('/')) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** The group named by a verified client certificate's subjectAltName (Node's `subjectaltname`). */
export function groupOfCertificate(subjectAltName: string | undefined): PeerGroup {
  const uris = subjectAltNames(subjectAltName ?? '').filter((name) => name.type === 'URI');
  const groups = [...new Set(uris.flatMap(({ value }) => groupOfUri(value) ?? []))];
  const [group, ...others] = groups;
  if (group === undefined) {
    return {
      ok: false,
      reason: `its client certificate names no node group (a URI SAN spiffe://<trust domain>${GROUP_PATH}<group>)`,
    };
  }
  if (others.length > 0) {
    return {
      ok: false,
      reason: `its client certificate names several node groups (${groups.join(', ')}): it must name one`,
    };
  }
  return { ok: true, group };
}
