/** XDS_AUTH / --xds-auth: how xDS clients authenticate, defaulting by MODE. */
import { describe, expect, it } from 'vitest';
import { parseConfig, settingsHelp, xdsAuthOf } from './config.ts';

const parsed = (argv: string[], env: Record<string, string> = {}) => {
  const r = parseConfig(argv, env);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
};

describe('XDS_AUTH', () => {
  it.each<[string, string[], Record<string, string>, string]>([
    ['unset in development mode: loopback-plaintext', [], {}, 'loopback-plaintext'],
    ['unset in production mode: required', [], { MODE: 'production', CA_KEY: 'k' }, 'required'],
    ['set in development mode', [], { XDS_AUTH: 'required' }, 'required'],
    ['set in production mode', [], { MODE: 'production', CA_KEY: 'k', XDS_AUTH: 'loopback-plaintext' }, 'loopback-plaintext'],
    ['the flag wins over the environment', ['--xds-auth', 'required'], { XDS_AUTH: 'loopback-plaintext' }, 'required'],
    ['an empty environment value falls back to the mode', [], { XDS_AUTH: '' }, 'loopback-plaintext'],
  ])('%s', (_name, argv, env, want) => {
    expect(xdsAuthOf(parsed(argv, env))).toBe(want);
  });

  it('keeps the setting itself unset when not given, so the mode decides', () => {
    expect(parsed([]).xdsAuth).toBeUndefined();
    expect(parsed([], { XDS_AUTH: 'required' }).xdsAuth).toBe('required');
  });

  it('refuses an unknown value, naming the setting', () => {
    expect(parseConfig([], { XDS_AUTH: 'off' })).toEqual({ ok: false, issues: [{ path: 'XDS_AUTH', message: 'must be one of required, loopback-plaintext, got "off"' }] });
    expect(parseConfig(['--xds-auth=none'], {})).toEqual({ ok: false, issues: [{ path: '--xds-auth', message: 'must be one of required, loopback-plaintext, got "none"' }] });
  });

  it('is in --help with both values and how the default depends on MODE', () => {
    const line = settingsHelp()
      .split('\n')
      .find((l) => l.includes('--xds-auth <v>'));
    expect(line).toMatch(/XDS_AUTH\s+required\|loopback-plaintext: .*development.*production/);
    expect(line).not.toContain('(default ');
  });
});

describe('XDS_TLS_CERT_FILE and XDS_TLS_KEY_FILE', () => {
  it('are given together or not at all, and the issue names the missing one as it would be given', () => {
    expect(parsed([], { XDS_TLS_CERT_FILE: 'c.pem', XDS_TLS_KEY_FILE: 'k.pem' })).toMatchObject({ xdsTlsCertFile: 'c.pem', xdsTlsKeyFile: 'k.pem' });
    expect(parsed([]).xdsTlsCertFile).toBeUndefined();
    expect(parseConfig([], { XDS_TLS_CERT_FILE: 'c.pem' })).toEqual({ ok: false, issues: [{ path: 'XDS_TLS_KEY_FILE', message: 'is required with XDS_TLS_CERT_FILE' }] });
    expect(parseConfig(['--xds-tls-key-file', 'k.pem'], {})).toEqual({ ok: false, issues: [{ path: 'XDS_TLS_CERT_FILE', message: 'is required with --xds-tls-key-file' }] });
  });
});
