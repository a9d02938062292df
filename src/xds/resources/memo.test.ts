import { describe, expect, it } from 'vitest';
import { DEFAULT_MESH_SETTINGS } from '../../model/mesh.ts';
import { endpoint, service } from '../../../test/support/mesh-fixtures.ts';
import { buildResources } from './index.ts';
import { perGroup, perService } from './memo.ts';

describe('perService', () => {
  it('builds once per service object and settings', () => {
    const svc = service();
    let builds = 0;
    const build = () => ({ n: ++builds });
    const a = perService('k', svc, DEFAULT_MESH_SETTINGS, build);
    expect(perService('k', svc, DEFAULT_MESH_SETTINGS, build)).toBe(a);
    expect(perService('other', svc, DEFAULT_MESH_SETTINGS, build)).not.toBe(a);
    expect(perService('k', svc, { ...DEFAULT_MESH_SETTINGS }, build)).not.toBe(a);
    expect(perService('k', service(), DEFAULT_MESH_SETTINGS, build)).not.toBe(a);
    expect(builds).toBe(4);
  });

  it('lets the translators hand back the same resources for the same service objects', () => {
    const services = [service({ endpoints: [endpoint({ address: '10.0.0.1', port: 50051 })] }), service({ name: 'web', protocol: 'http', port: 8080 })];
    const a = buildResources({ revision: 1, services, externalHosts: new Map(), droppedRoutes: [] }, DEFAULT_MESH_SETTINGS);
    const b = buildResources({ revision: 2, services, externalHosts: new Map(), droppedRoutes: [] }, DEFAULT_MESH_SETTINGS);
    const byName = (list: { name: string }[], name: string) => list.find((r) => r.name === name);
    expect(byName(b.cluster, 'greeter.default')).toBe(byName(a.cluster, 'greeter.default'));
    expect(byName(b.listener, 'web.default:8080')).toBe(byName(a.listener, 'web.default:8080'));
    expect(byName(b.endpoint, a.endpoint[0]!.name)).toBe(a.endpoint[0]);
  });
});

describe('perGroup', () => {
  it('reuses a result while the group has the very same members, in the same order', () => {
    const a = service({ name: 'a' });
    const b = service({ name: 'b' });
    let builds = 0;
    const build = () => ({ n: ++builds });
    const first = perGroup('port', [a, b], DEFAULT_MESH_SETTINGS, build);
    expect(perGroup('port', [a, b], DEFAULT_MESH_SETTINGS, build)).toBe(first);
    expect(perGroup('port', [a, service({ name: 'b' })], DEFAULT_MESH_SETTINGS, build)).not.toBe(first);
    expect(perGroup('port', [a], DEFAULT_MESH_SETTINGS, build).n).toBe(3);
    expect(perGroup('port', [], DEFAULT_MESH_SETTINGS, build).n).toBe(4);
  });
});
