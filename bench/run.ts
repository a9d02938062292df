/**
 * `npm run bench`: figures for the translate → gate → publish pipeline and for encode-once fan-out.
 * Prints figures and ratios; the latest ones are recorded in docs/benchmarks.md. Not a test.
 *
 * Options (env): SERVICES (default 1000), ENDPOINTS per service (default 3), STREAMS (default 2000).
 */
import { performance } from 'node:perf_hooks';
import { buildMesh, DEFAULT_MESH_SETTINGS, type EndpointRow, type Mesh, type ServiceRow } from '../src/model/mesh.ts';
import { messageType } from '../src/protos/loader.ts';
import { encodeMessage, TYPE_URLS } from '../src/protos/type-urls.ts';
import { ResourceEncoder } from '../src/xds/cache/resource.ts';
import { emptySnapshot } from '../src/xds/cache/snapshot-cache.ts';
import { passGate } from '../src/xds/publish-gate.ts';
import { buildResources } from '../src/xds/resources/index.ts';
import { encodeDiscoveryResponse, versionOf } from '../src/xds/server/response.ts';

const SERVICES = Number(process.env.SERVICES ?? 1000);
const ENDPOINTS = Number(process.env.ENDPOINTS ?? 3);
const STREAMS = Number(process.env.STREAMS ?? 2000);

/** Registry rows for S services x E endpoints; `bump` changes one endpoint of that service. */
function rowsOf(services: number, endpoints: number, bump = -1): { services: ServiceRow[]; endpoints: EndpointRow[] } {
  const svcRows: ServiceRow[] = [];
  const epRows: EndpointRow[] = [];
  for (let i = 0; i < services; i++) {
    const id = `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
    svcRows.push({ id, namespace: `ns${i % 20}`, name: `svc${i}`, protocol: i % 3 === 0 ? 'http' : 'grpc', port: 8000 + (i % 50), labels: {}, tags: [], version: null });
    for (let j = 0; j < endpoints; j++) {
      epRows.push({
        id: `e${i}-${j}`,
        serviceId: id,
        address: `10.${(i >> 8) & 255}.${i & 255}.${j + (i === bump ? 100 : 1)}`,
        port: 8000 + (i % 50),
        weight: 1,
        region: 'r1',
        zone: `z${j % 3}`,
        subZone: '',
        labels: {},
        health: 'healthy',
      });
    }
  }
  return { services: svcRows, endpoints: epRows };
}

/** Builds the mesh the way the reconciler does, reusing unchanged services from `previous`. */
function meshOf(revision: number, bump = -1, previous?: Mesh): Mesh {
  const rows = rowsOf(SERVICES, ENDPOINTS, bump);
  return buildMesh(revision, rows.services, rows.endpoints, previous);
}

function time<T>(fn: () => T): [T, number] {
  const t0 = performance.now();
  const out = fn();
  return [out, performance.now() - t0];
}

const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

messageType('envoy.config.cluster.v3.Cluster'); // load protos outside the timings
const encoder = new ResourceEncoder();
const settings = DEFAULT_MESH_SETTINGS;

let mesh = meshOf(1);
const [cold, coldMs] = time(() => passGate(buildResources(mesh, settings), encoder, emptySnapshot(), 1));
const counts = Object.fromEntries([...cold.snapshot.resources].map(([t, m]) => [t.split('.').at(-1), m.size]));
const [, warmMs] = time(() => passGate(buildResources((mesh = meshOf(2, -1, mesh)), settings), encoder, cold.snapshot, 2));
const [, oneMs] = time(() => passGate(buildResources((mesh = meshOf(3, 7, mesh)), settings), encoder, cold.snapshot, 3));

console.log(`registry: ${SERVICES} services x ${ENDPOINTS} endpoints -> ${JSON.stringify(counts)}, gate issues: ${cold.issues.length}`);
console.log(`full build, cold (rows -> mesh, translate, encode, PGV-validate, references): ${fmt(coldMs)}`);
console.log(`rebuild, nothing changed (unchanged services reused):                   ${fmt(warmMs)}  (${(coldMs / warmMs).toFixed(1)}x faster than cold)`);
console.log(`rebuild, one endpoint changed:                                          ${fmt(oneMs)}  (${(coldMs / oneMs).toFixed(1)}x faster than cold)`);

// Fan-out: a full CDS response to STREAMS proxies, from cached Any bytes versus encoding per proxy.
const clusters = [...cold.snapshot.resources.get(TYPE_URLS.cluster)!.values()];
const [bytesOnce, cachedMs] = time(() => {
  let total = 0;
  for (let i = 0; i < STREAMS; i++) total += encodeDiscoveryResponse(versionOf(clusters), TYPE_URLS.cluster, clusters, `${i}`, 'bench').length;
  return total;
});
const built = buildResources(meshOf(1), settings).cluster;
const clusterType = messageType('envoy.config.cluster.v3.Cluster');
const perProxyStreams = Math.max(1, Math.floor(STREAMS / 20));
const [, perProxyMs] = time(() => {
  for (let i = 0; i < perProxyStreams; i++) for (const b of built) encodeMessage(clusterType, b.resource);
});
const perProxyPerStream = perProxyMs / perProxyStreams;
console.log(
  `full CDS (${clusters.length} clusters, ${(bytesOnce / STREAMS / 1024).toFixed(0)} KiB) to ${STREAMS} streams from cached bytes: ${fmt(cachedMs)} ` +
    `(${(cachedMs / STREAMS).toFixed(3)} ms per stream)`,
);
console.log(
  `encoding the same clusters per stream instead: ${perProxyPerStream.toFixed(3)} ms per stream ` +
    `(${(perProxyPerStream / (cachedMs / STREAMS)).toFixed(1)}x the cached cost; measured on ${perProxyStreams} streams)`,
);
const mem = process.memoryUsage();
console.log(`heap used: ${(mem.heapUsed / 1048576).toFixed(0)} MiB, rss: ${(mem.rss / 1048576).toFixed(0)} MiB`);
