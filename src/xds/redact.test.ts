import { describe, expect, it } from 'vitest';
import { tlsCertificateSecret, validationContextSecret } from '../envoy/tls.ts';
import { messageType } from '../protos/loader.ts';
import { decodeToPlain, encodeMessage, TYPE_URLS } from '../protos/type-urls.ts';
import { REDACTED, shownEncoded, shownResource } from './redact.ts';

const SECRET = 'envoy.extensions.transport_sockets.tls.v3.Secret';
const encode = (plain: object) => encodeMessage(messageType(SECRET), plain as Record<string, unknown>);

describe('resources as the API and CSDS show them', () => {
  const secret = encode(tlsCertificateSecret('default', 'CHAIN PEM', 'KEY PEM'));

  it('shows a certificate secret with its chain and without its private key', () => {
    expect(shownResource(TYPE_URLS.secret, secret)).toEqual({
      name: 'default',
      tlsCertificate: { certificateChain: { inlineString: 'CHAIN PEM' }, privateKey: { inlineString: REDACTED } },
    });
    const dumped = decodeToPlain(messageType(SECRET), shownEncoded(TYPE_URLS.secret, secret));
    expect(JSON.stringify(dumped)).not.toContain('KEY PEM');
    expect(dumped).toMatchObject({ tlsCertificate: { privateKey: { inlineString: REDACTED } } });
  });

  it('leaves a trust bundle and every other type as served', () => {
    const bundle = encode(validationContextSecret('ROOTCA', 'ROOTS'));
    expect(shownResource(TYPE_URLS.secret, bundle)).toEqual({ name: 'ROOTCA', validationContext: { trustedCa: { inlineString: 'ROOTS' } } });
    expect(shownEncoded(TYPE_URLS.secret, bundle)).toEqual(bundle);
    const cluster = encodeMessage(messageType('envoy.config.cluster.v3.Cluster'), { name: 'c' });
    expect(shownEncoded(TYPE_URLS.cluster, cluster)).toBe(cluster);
  });
});
