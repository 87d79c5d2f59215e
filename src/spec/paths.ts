/** Document paths as users read them: `spec.nodes.split.routes[1].weight`. */
export type PathSegment = string | number;

const plainKey = /^[A-Za-z0-9_][-A-Za-z0-9_]*$/;
const lastSegment = /(?:^|\.)[^.[]+$|\[(?:\d+|"(?:[^"\\]|\\.)*")\]$/;

export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${String(segment)}]`;
    else if (plainKey.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** The path one level up ("spec.nodes.a" → "spec.nodes"); undefined above the root. */
export function parentPath(path: string): string | undefined {
  if (path === '') return undefined;
  const parent = path.replace(lastSegment, '');
  return parent === path ? '' : parent;
}

/**
 * A JSON pointer ("/routes/1/weight") as segments. Whether "1" is an index
 * or a key depends on the value it points into: a node may be named "1".
 */
export function pointerSegments(pointer: string, value: unknown): PathSegment[] {
  if (pointer === '') return [];
  let at = value;
  return pointer
    .slice(1)
    .split('/')
    .map((raw) => {
      const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
      const segment = Array.isArray(at) && /^(0|[1-9]\d*)$/.test(key) ? Number(key) : key;
      at =
        typeof at === 'object' && at !== null && Object.hasOwn(at, segment)
          ? (at as Record<PathSegment, unknown>)[segment]
          : undefined;
      return segment;
    });
}
