import { register } from '@grpc/grpc-js-xds';
import { ListenerResourceType } from '@grpc/grpc-js-xds/build/src/xds-resource-type/listener-resource-type.js';
import type { XdsDecodeContext } from '@grpc/grpc-js-xds/build/src/xds-resource-type/xds-resource-type.js';
import { describe, expect, it } from 'vitest';
import type { RouteSpec } from '../model/traffic.ts';
import { envoyRoot } from '../protos/loader.ts';
import { expectValidEnvoy } from '../../test/support/envoy.ts';
import type { Plain } from './common.ts';
import { HCM_TYPE, httpConnectionManager, routerFilter } from './http-connection-manager.ts';
import {
  CORS_FILTER,
  FAULT_FILTER,
  HTTP_FILTER_PROTO_FILES,
  httpFilterNeeds,
  httpFilters,
  LOCAL_RATELIMIT_FILTER,
  type HttpFilterNeeds,
} from './http-filters.ts';

// The filter configs travel inside Anys; the shared root does not load their protos by default.
envoyRoot(HTTP_FILTER_PROTO_FILES);

const ANY = 'type.googleapis.com/';
const HTTP_FILTER = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter';

const FAULT: Plain = { name: 'envoy.filters.http.fault', typedConfig: { '@type': `${ANY}envoy.extensions.filters.http.fault.v3.HTTPFault` } };
const CORS: Plain = { name: 'envoy.filters.http.cors', typedConfig: { '@type': `${ANY}envoy.extensions.filters.http.cors.v3.Cors` }, isOptional: true };
const RATE_LIMIT: Plain = {
  name: 'envoy.filters.http.local_ratelimit',
  typedConfig: { '@type': `${ANY}envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit`, statPrefix: 'http_local_rate_limiter' },
  isOptional: true,
};
const ROUTER: Plain = { name: 'envoy.filters.http.router', typedConfig: { '@type': `${ANY}envoy.extensions.filters.http.router.v3.Router` } };

/** An HCM as the caller will wire it: the one httpConnectionManager() builds, with this filter chain. */
const hcmWith = (filters: Plain[]): Plain => ({ ...httpConnectionManager('web.shop:8080', { rds: 'web.shop:8080' }), httpFilters: filters });

describe('filter names', () => {
  it("are Envoy's well-known names", () => {
    expect([FAULT_FILTER, CORS_FILTER, LOCAL_RATELIMIT_FILTER]).toEqual(['envoy.filters.http.fault', 'envoy.filters.http.cors', 'envoy.filters.http.local_ratelimit']);
  });
});

describe('httpFilters', () => {
  const cases: { name: string; needs: HttpFilterNeeds; want: Plain[] }[] = [
    { name: 'nothing needed: the router alone', needs: {}, want: [ROUTER] },
    { name: 'all false: the router alone', needs: { fault: false, cors: false, rateLimit: false }, want: [ROUTER] },
    { name: 'fault', needs: { fault: true }, want: [FAULT, ROUTER] },
    { name: 'cors', needs: { cors: true }, want: [CORS, ROUTER] },
    { name: 'local rate limit', needs: { rateLimit: true }, want: [RATE_LIMIT, ROUTER] },
    { name: 'fault and rate limit keep their order', needs: { rateLimit: true, fault: true }, want: [FAULT, RATE_LIMIT, ROUTER] },
    { name: 'all: fault → cors → local_ratelimit → router', needs: { fault: true, cors: true, rateLimit: true }, want: [FAULT, CORS, RATE_LIMIT, ROUTER] },
  ];
  it.each(cases)('$name', ({ needs, want }) => {
    const got = httpFilters(needs);
    expect(got).toStrictEqual(want);
    for (const filter of got) expectValidEnvoy(HTTP_FILTER, filter);
    expectValidEnvoy(HCM_TYPE, hcmWith(got));
  });

  it('ends with the router filter of http-connection-manager.ts', () => {
    expect(httpFilters({ fault: true, cors: true, rateLimit: true }).at(-1)).toStrictEqual(routerFilter());
  });
});

describe('httpFilterNeeds', () => {
  const route = (overrides: Partial<RouteSpec>): RouteSpec => ({ namespace: 'shop', name: 'r', hosts: [], priority: 0, match: {}, ...overrides });
  const cases: { name: string; routes: RouteSpec[]; want: HttpFilterNeeds }[] = [
    { name: 'no routes', routes: [], want: { fault: false, cors: false, rateLimit: false } },
    { name: 'plain routes', routes: [route({}), route({ timeoutMs: 5 })], want: { fault: false, cors: false, rateLimit: false } },
    {
      name: 'each filter used by some route',
      routes: [route({ fault: { abort: { httpStatus: 503, percent: 1 } } }), route({ cors: { allowOrigins: [] } }), route({ rateLimit: { maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 1 } })],
      want: { fault: true, cors: true, rateLimit: true },
    },
    { name: 'one filter', routes: [route({}), route({ cors: { allowOrigins: [{ exact: '*' }] } })], want: { fault: false, cors: true, rateLimit: false } },
  ];
  it.each(cases)('$name', ({ routes, want }) => {
    expect(httpFilterNeeds(routes)).toStrictEqual(want);
  });
});

describe('filter chains as proxyless gRPC clients (grpc-js-xds 1.14) validate them (its LDS resource type, no network)', () => {
  // register() fills its HTTP filter registry (fault, router); it opens no connection.
  register();
  const context = {} as XdsDecodeContext;
  const LISTENER = 'envoy.config.listener.v3.Listener';
  const decode = (filters: Plain[]) => {
    const bytes = expectValidEnvoy(LISTENER, { name: 'web.shop:8080', apiListener: { apiListener: hcmWith(filters) } });
    return ListenerResourceType.get().decode(context, { type_url: `${ANY}${LISTENER}`, value: Buffer.from(bytes) });
  };

  it('accepts the full chain: fault is theirs, CORS and local rate limit are optional', () => {
    expect(decode(httpFilters({ fault: true, cors: true, rateLimit: true })).error).toBeUndefined();
  });

  it('would reject the listener were CORS not optional', () => {
    const { isOptional: _, ...required } = CORS;
    expect(decode([required, ROUTER]).error).toMatch(/envoy.filters.http.cors filter validation failed/);
  });
});
