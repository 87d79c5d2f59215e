/** HTTP headers as Node and undici hand them over, one lowercased name per entry. */
type HeaderRecord = Record<string, string | string[] | undefined>;

/** The headers as a map, repeated values joined as HTTP joins them. */
export function headerMap(headers: HeaderRecord): Map<string, string> {
  const map = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) map.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return map;
}
