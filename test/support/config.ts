/** Server settings for tests: the defaults every deployment gets, bound to loopback on free ports, quiet, and quick to push. */
import { parseConfig, type Config } from '../../src/config.ts';

/** The default settings with test-friendly overrides; `over` wins. */
export function testConfig(over: Partial<Config> = {}): Config {
  const defaults = parseConfig([], {});
  if (!defaults.ok) throw new Error('the default settings do not parse');
  return {
    ...defaults.value,
    host: '127.0.0.1',
    apiPort: 0,
    xdsPort: 0,
    logLevel: 'silent',
    debounceMs: 20,
    maxDelayMs: 200,
    ...over,
  };
}
