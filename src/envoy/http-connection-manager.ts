/** Builds `envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`. */
import { adsConfigSource, typed, type Plain } from './common.ts';
import { statPrefix } from '../model/names.ts';

export const HCM_TYPE = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER_TYPE = 'envoy.extensions.filters.http.router.v3.Router';

/** The router filter, which must end every HTTP filter chain. */
export function routerFilter(): Plain {
  return { name: 'envoy.filters.http.router', typedConfig: typed(ROUTER_TYPE) };
}

/** Where the HCM gets its routes: inline, or by name over RDS. */
export type RouteSource = { inline: Plain } | { rds: string };

/** An HCM packed as an Any, with the router filter and routes inline or from RDS. */
export function httpConnectionManager(name: string, routes: RouteSource): Plain {
  const source =
    'inline' in routes
      ? { routeConfig: routes.inline }
      : { rds: { configSource: adsConfigSource(), routeConfigName: routes.rds } };
  return typed(HCM_TYPE, {
    statPrefix: statPrefix(name),
    codecType: 'AUTO',
    ...source,
    httpFilters: [routerFilter()],
  });
}
