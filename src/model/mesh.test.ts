import { describe, expect, it } from 'vitest';
import { buildMesh, compareStrings, isHttpProtocol, type Endpoint, type EndpointRow, type Service, type ServiceRow } from './mesh.ts';

/** A service row with defaults; each case lists only what differs. */
function svcRow(id: string, namespace: string, name: string, extra: Partial<ServiceRow> = {}): ServiceRow {
  return { id, namespace, name, protocol: 'http', port: 8080, labels: {}, tags: [], version: null, ...extra };
}

/** An endpoint row with defaults. */
function epRow(id: string, serviceId: string, address: string, port: number, extra: Partial<EndpointRow> = {}): EndpointRow {
  return { id, serviceId, address, port, weight: 1, region: '', zone: '', subZone: '', labels: {}, health: 'healthy', ...extra };
}

/** The model endpoint the row above becomes. */
function ep(id: string, address: string, port: number, addressKind: Endpoint['addressKind'], extra: Partial<Endpoint> = {}): Endpoint {
  return { id, address, addressKind, port, weight: 1, region: '', zone: '', subZone: '', labels: {}, health: 'healthy', ...extra };
}

/** The model service a row becomes; its uid is the row id. */
function svc(uid: string, namespace: string, name: string, endpoints: Endpoint[] = [], extra: Partial<Service> = {}): Service {
  return { uid, namespace, name, protocol: 'http', port: 8080, labels: {}, tags: [], version: null, endpoints, routes: [], subsets: [], ...extra };
}

describe('buildMesh', () => {
  it('is empty for no rows and keeps the revision', () => {
    expect(buildMesh(42, [], [])).toEqual({ revision: 42, services: [], externalHosts: new Map(), droppedRoutes: [] });
  });

  it('sorts services by namespace, then name, in code-point order', () => {
    const mesh = buildMesh(1, [svcRow('1', 'shop', 'cart'), svcRow('2', 'default', 'web'), svcRow('3', 'shop', 'api'), svcRow('4', 'default', 'Z'), svcRow('5', 'a', 'z')], []);
    expect(mesh.services.map((s) => `${s.namespace}/${s.name}`)).toEqual(['a/z', 'default/Z', 'default/web', 'shop/api', 'shop/cart']);
  });

  it('groups endpoints by service id and sorts them by address, then port (numerically)', () => {
    const mesh = buildMesh(
      7,
      [svcRow('s1', 'default', 'web'), svcRow('s2', 'default', 'api')],
      [
        epRow('e1', 's1', '10.0.0.2', 80),
        epRow('e2', 's2', '10.0.0.9', 80),
        epRow('e3', 's1', '10.0.0.1', 9000),
        epRow('e4', 's1', '10.0.0.1', 443),
        epRow('e5', 's1', 'backend.default', 80),
        epRow('e6', 's1', '::1', 80),
      ],
    );
    expect(mesh).toEqual({
      revision: 7,
      services: [
        svc('s2', 'default', 'api', [ep('e2', '10.0.0.9', 80, 'ipv4')]),
        svc('s1', 'default', 'web', [
          ep('e4', '10.0.0.1', 443, 'ipv4'),
          ep('e3', '10.0.0.1', 9000, 'ipv4'),
          ep('e1', '10.0.0.2', 80, 'ipv4'),
          ep('e6', '::1', 80, 'ipv6'),
          ep('e5', 'backend.default', 80, 'hostname'),
        ]),
      ],
      externalHosts: new Map(),
      droppedRoutes: [],
    });
  });

  it('skips endpoint rows whose address is not valid, keeping the rest', () => {
    const mesh = buildMesh(
      3,
      [svcRow('s1', 'default', 'web')],
      [epRow('good', 's1', '10.0.0.1', 80), epRow('bad', 's1', 'not an address', 80), epRow('bad2', 's1', '', 80), epRow('bad3', 's1', '999.0.0.1', 80)],
    );
    expect(mesh.services[0]?.endpoints.map((e) => e.id)).toEqual(['good']);
  });

  it('drops endpoints of unknown services and gives services without endpoints an empty list', () => {
    const mesh = buildMesh(1, [svcRow('s1', 'default', 'web')], [epRow('e1', 'gone', '10.0.0.1', 80)]);
    expect(mesh.services).toEqual([svc('s1', 'default', 'web', [])]);
  });

  it('copies every service and endpoint field', () => {
    const mesh = buildMesh(
      9,
      [svcRow('s1', 'shop', 'cart', { protocol: 'grpc', port: 50051, labels: { app: 'cart' }, tags: ['a', 'b'], version: 'v3' })],
      [epRow('e1', 's1', '10.1.2.3', 50051, { weight: 5, region: 'eu', zone: 'eu-1a', subZone: 'rack9', labels: { v: '3' }, health: 'draining' })],
    );
    expect(mesh.services).toEqual([
      svc('s1', 'shop', 'cart', [ep('e1', '10.1.2.3', 50051, 'ipv4', { weight: 5, region: 'eu', zone: 'eu-1a', subZone: 'rack9', labels: { v: '3' }, health: 'draining' })], {
        protocol: 'grpc',
        port: 50051,
        labels: { app: 'cart' },
        tags: ['a', 'b'],
        version: 'v3',
      }),
    ]);
  });

  it('does not depend on row order', () => {
    const services = [svcRow('s1', 'b', 'x'), svcRow('s2', 'a', 'y'), svcRow('s3', 'a', 'x')];
    const endpoints = [epRow('e1', 's1', '10.0.0.3', 1), epRow('e2', 's1', '10.0.0.1', 2), epRow('e3', 's3', '10.0.0.2', 3)];
    expect(buildMesh(1, [...services].reverse(), [...endpoints].reverse())).toEqual(buildMesh(1, services, endpoints));
  });
});

describe('helpers', () => {
  it.each([
    ['a', 'b', -1],
    ['b', 'a', 1],
    ['a', 'a', 0],
    ['Z', 'a', -1],
    ['a', 'ab', -1],
    ['é', 'z', 1],
  ])('compareStrings(%j, %j) = %d', (a, b, want) => {
    expect(compareStrings(a, b)).toBe(want);
  });

  it.each([
    ['http', true],
    ['http2', true],
    ['grpc', true],
    ['tcp', false],
  ] as const)('isHttpProtocol(%s) = %s', (p, want) => {
    expect(isHttpProtocol(p)).toBe(want);
  });
});

describe('buildMesh with a previous mesh', () => {
  const rows = [svcRow('s1', 'default', 'web'), svcRow('s2', 'default', 'api')];
  const eps = [epRow('e1', 's1', '10.0.0.1', 80), epRow('e2', 's2', '10.0.0.2', 80)];

  it('hands back the previous object for a service whose content did not change', () => {
    const first = buildMesh(1, rows, eps);
    const second = buildMesh(2, rows, eps, first);
    expect(second.services[0]).toBe(first.services[0]);
    expect(second.services[1]).toBe(first.services[1]);
    expect(second.revision).toBe(2);
  });

  it('gives a changed service (or one with a changed endpoint) a new object, and only that one', () => {
    const first = buildMesh(1, rows, eps);
    const second = buildMesh(2, rows, [epRow('e1', 's1', '10.0.0.1', 80, { weight: 7 }), eps[1]!], first);
    const web = second.services.find((s) => s.name === 'web')!;
    expect(web).not.toBe(first.services.find((s) => s.name === 'web'));
    expect(web.endpoints[0]?.weight).toBe(7);
    expect(second.services.find((s) => s.name === 'api')).toBe(first.services.find((s) => s.name === 'api'));
  });

  it('does not reuse across a re-created service (new uid, same name)', () => {
    const first = buildMesh(1, rows, eps);
    const second = buildMesh(2, [svcRow('s9', 'default', 'web'), rows[1]!], [epRow('e1', 's9', '10.0.0.1', 80), eps[1]!], first);
    expect(second.services.find((s) => s.name === 'web')?.uid).toBe('s9');
  });
});
