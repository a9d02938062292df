/** Builds `envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`. */
import { adsConfigSource, typed, type Plain } from './common.ts';
import { statPrefix } from '../model/names.ts';
import { httpFilters, type HttpFilterNeeds } from './http-filters.ts';

export const HCM_TYPE = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
export { routerFilter } from './http-filters.ts';

/** Where the HCM gets its routes: inline, or by name over RDS. */
export type RouteSource = { inline: Plain } | { rds: string };

/** What an HCM reports: its access loggers and its tracing (none for proxyless gRPC, which knows neither). */
export interface HcmTelemetry {
  accessLog?: Plain[];
  tracing?: Plain;
}

/**
 * An HCM packed as an Any, with the filters its routes need, the router last, routes inline or from
 * RDS, and its access loggers and tracing when given.
 */
export function httpConnectionManager(name: string, routes: RouteSource, needs: HttpFilterNeeds = {}, telemetry: HcmTelemetry = {}): Plain {
  const source =
    'inline' in routes
      ? { routeConfig: routes.inline }
      : { rds: { configSource: adsConfigSource(), routeConfigName: routes.rds } };
  return typed(HCM_TYPE, {
    statPrefix: statPrefix(name),
    codecType: 'AUTO',
    ...source,
    httpFilters: httpFilters(needs),
    ...(telemetry.accessLog?.length ? { accessLog: telemetry.accessLog } : {}),
    ...(telemetry.tracing ? { tracing: telemetry.tracing } : {}),
  });
}
