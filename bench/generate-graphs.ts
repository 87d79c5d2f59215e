/**
 * Generated graph files for scale runs: a mix of the native shapes
 * (a model, a 90/10 split, a header switch, a mirror), each graph on its
 * own path, addresses on loopback.
 */
export function generatedGraph(index: number): string {
  const name = `g${String(index).padStart(5, '0')}`;
  const port = 20000 + (index % 10000);
  const model = (node: string, offset: number) =>
    `    ${node}: { kind: model, endpoint: { addresses: ["127.0.0.1:${String(port + offset)}"] } }\n`;
  const header = `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata:
  name: ${name}
spec:
  timeout: 2s
`;
  switch (index % 4) {
    case 0:
      return `${header}  entry: m\n  nodes:\n${model('m', 0)}`;
    case 1:
      return `${header}  entry: s\n  nodes:\n    s: { kind: splitter, routes: [{ to: a, weight: 90 }, { to: b, weight: 10 }] }\n${model('a', 0)}${model('b', 1)}`;
    case 2:
      return `${header}  entry: w\n  nodes:\n    w: { kind: switch, cases: [{ when: { header: x-tier, equals: gold }, to: a }], default: b }\n${model('a', 0)}${model('b', 1)}`;
    default:
      return `${header}  entry: r\n  nodes:\n    r: { kind: mirror, to: a, shadow: b, percent: 10 }\n    a: { kind: model, model: m, endpoint: { addresses: ["127.0.0.1:${String(port)}"] } }\n    b: { kind: model, model: m, endpoint: { addresses: ["127.0.0.1:${String(port + 1)}"] } }\n`;
  }
}
