/** An upstream address as the spec allows it: IPv4, bracketed IPv6, or a DNS name, with a port. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

const dnsName =
  /^(?=.{1,253}$)([a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?)*$/;
const ipv4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIpAddress(host: string): boolean {
  return ipv4.test(host) || host.includes(':');
}

/** RFC 4291 text form: eight hex groups, "::" for a run of zeros, an IPv4 tail allowed. */
function isIpv6(host: string): boolean {
  const halves = host.split('::');
  if (halves.length > 2) return false;
  const groups = halves.flatMap((half) => (half === '' ? [] : half.split(':')));
  const tail = groups.at(-1);
  const tailIsIpv4 = tail !== undefined && ipv4.test(tail);
  const hex = tailIsIpv4 ? groups.slice(0, -1) : groups;
  if (!hex.every((group) => /^[0-9a-fA-F]{1,4}$/.test(group))) return false;
  const width = hex.length + (tailIsIpv4 ? 2 : 0);
  return halves.length === 2 ? width <= 7 : width === 8;
}

/** An IPv4 address, an unbracketed IPv6 address, or a DNS name. */
export function isValidHost(host: string): boolean {
  if (host.includes(':')) return isIpv6(host);
  return ipv4.test(host) || (dnsName.test(host) && !/^[\d.]+$/.test(host));
}

function validPort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

/** Parses "host:port" or "[v6]:port"; undefined when it is neither. */
export function parseHostPort(text: string): HostPort | undefined {
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  const match = bracketed ?? /^([^:[\]]+):(\d+)$/.exec(text);
  if (!match) return undefined;
  const [, host = '', portText = ''] = match;
  const port = validPort(portText);
  if (port === undefined || !isValidHost(host)) return undefined;
  return { host, port };
}

/** Parses an http(s) URL endpoint into its single address and whether it needs TLS. */
export function parseEndpointUrl(text: string): (HostPort & { tls: boolean }) | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.pathname !== '/' || url.search !== '' || url.username !== '') return undefined;
  const tls = url.protocol === 'https:';
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port === '' ? (tls ? 443 : 80) : validPort(url.port);
  if (port === undefined || !isValidHost(host)) return undefined;
  return { host, port, tls };
}
