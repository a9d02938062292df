/**
 * Authenticated xDS over real gRPC: join tokens in `authorization` metadata and client certificates
 * of the mesh CA on a TLS port, the node having to claim the credential's identity, loopback
 * plaintext in development mode, and revocation reaching new and open streams.
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRootCa, issueWorkloadCertificate } from '../../ca/certificates.ts';
import { issueJoinToken, newJoinToken, stillValidJoinTokens, verifyJoinToken } from '../../ca/join-tokens.ts';
import type { MeshCa } from '../../ca/mesh-ca.ts';
import type { XdsAuthMode } from '../../config.ts';
import { TYPE_URLS } from '../../protos/type-urls.ts';
import { revokeJoinToken } from '../../registry/join-tokens.ts';
import { AdsClient, DeltaClient, type ConnectOptions } from '../../../test/support/ads-client.ts';
import { openTestCa } from '../../../test/support/api.ts';
import { useTestDatabase } from '../../../test/support/test-db.ts';
import { cleanUpHarnesses, harness, type Harness } from '../../../test/support/xds-harness.ts';
import { meshAuthenticator } from './auth.ts';
import type { XdsTlsOptions } from './tls.ts';

const CDS = TYPE_URLS.cluster;
const UNAUTHENTICATED = grpc.status.UNAUTHENTICATED;
const PERMISSION_DENIED = grpc.status.PERMISSION_DENIED;

const t = useTestDatabase();
cleanUpHarnesses();
const clients: (AdsClient | DeltaClient)[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

let greeterToken: string;
beforeAll(async () => {
  greeterToken = (await issueJoinToken(t.db, { namespace: 'default', service: 'greeter' })).token;
});

const greeterNode = (id = 'greeter-1') => ({ id, metadata: { role: 'grpc', service: 'greeter' } });
const billingNode = { id: 'billing-1', metadata: { role: 'grpc', service: 'billing', namespace: 'shop' } };
const bearer = (token: string): ConnectOptions => ({ metadata: { authorization: `Bearer ${token}` } });

/** A server over the test database's tokens, in `mode`, with its warnings captured. */
async function authHarness(mode: XdsAuthMode, tls?: XdsTlsOptions): Promise<Harness & { warn: ReturnType<typeof vi.fn> }> {
  const warn = vi.fn();
  const authenticator = meshAuthenticator({
    mode,
    trustDomain: 'mesh.local',
    verifyToken: (token) => verifyJoinToken(t.db, token),
    stillValid: (ids) => stillValidJoinTokens(t.db, ids),
  });
  const h = await harness(undefined, { authenticator, revalidateMs: 100, log: { warn }, tls });
  return Object.assign(h, { warn });
}

function client(h: Harness, connect?: ConnectOptions): AdsClient {
  const c = new AdsClient(h.port, undefined, connect);
  clients.push(c);
  return c;
}

/** Subscribes to every cluster as `node` and resolves with the first response. */
function clusters(c: AdsClient | DeltaClient, node: object) {
  if (c instanceof AdsClient) c.send({ typeUrl: CDS, node: node as never });
  else c.send({ typeUrl: CDS, node: node as never });
  return c.next();
}

/** Expects the stream to end with `code` without having sent a single response. */
async function expectRefused(c: AdsClient | DeltaClient, code: number, details: RegExp) {
  const status = await c.ended();
  expect({ code: status.code, details: status.details }).toMatchObject({ code, details: expect.stringMatching(details) });
  expect(await c.silentFor(50)).toBe(true);
}

describe('XDS_AUTH=required with join tokens', () => {
  let h: Awaited<ReturnType<typeof authHarness>>;
  beforeAll(async () => {
    h = await authHarness('required');
  });

  it('serves a node that claims the identity of its token', async () => {
    const r = await clusters(client(h, bearer(greeterToken)), greeterNode());
    expect(r.typeUrl).toBe(CDS);
    expect(r.names.length).toBeGreaterThan(0);
  });

  it('serves Delta streams the same way', async () => {
    const c = new DeltaClient(h.port, undefined, bearer(greeterToken));
    clients.push(c);
    expect((await clusters(c, greeterNode())).typeUrl).toBe(CDS);
  });

  it('refuses a node claiming another service with PERMISSION_DENIED, sends nothing, and logs who claimed what', async () => {
    const c = client(h, bearer(greeterToken));
    c.send({ typeUrl: CDS, node: billingNode });
    await expectRefused(c, PERMISSION_DENIED, /node billing-1 claims shop\/billing .* is for default\/greeter/);
    expect(h.warn).toHaveBeenCalledWith(
      expect.objectContaining({ code: 'PERMISSION_DENIED', reason: expect.stringMatching(/billing-1.*shop\/billing.*default\/greeter/) }),
      'xDS stream refused',
    );
  });

  it('refuses a node of the right service in another namespace, and a gateway that claims no service', async () => {
    const other = client(h, bearer(greeterToken));
    other.send({ typeUrl: CDS, node: { id: 'g', metadata: { role: 'grpc', service: 'greeter', namespace: 'shop' } } });
    await expectRefused(other, PERMISSION_DENIED, /shop\/greeter/);
    const gateway = client(h, bearer(greeterToken));
    gateway.send({ typeUrl: CDS, node: { id: 'gw-1', metadata: { role: 'gateway' } } });
    await expectRefused(gateway, PERMISSION_DENIED, /node gw-1 claims no service/);
  });

  it('refuses a stream without a credential, or with an unknown or malformed token, with UNAUTHENTICATED', async () => {
    for (const connect of [undefined, bearer(newJoinToken()), bearer('not-a-token'), { metadata: { authorization: `Basic ${greeterToken}` } }]) {
      const c = client(h, connect);
      c.send({ typeUrl: CDS, node: greeterNode() });
      await expectRefused(c, UNAUTHENTICATED, connect ? /join token is not valid/ : /join token .* or a client certificate .* is required/);
    }
    expect(h.server.streamCount).toBe(0);
  });

  it('refuses an expired token', async () => {
    const { token, row } = await issueJoinToken(t.db, { namespace: 'default', service: 'greeter', expiresAt: new Date(Date.now() - 1000) });
    const c = client(h, bearer(token));
    c.send({ typeUrl: CDS, node: greeterNode() });
    await expectRefused(c, UNAUTHENTICATED, /not valid/);
    expect(row.expiresAt).not.toBeNull();
  });

  it('after revocation refuses new streams at once and ends open ones with PERMISSION_DENIED within seconds', async () => {
    const { token, row } = await issueJoinToken(t.db, { namespace: 'default', service: 'greeter' });
    const open = client(h, bearer(token));
    await clusters(open, greeterNode('open-1'));
    const bystander = client(h, bearer(greeterToken));
    await clusters(bystander, greeterNode('bystander-1'));

    await revokeJoinToken(t.db, row.id, new Date());
    const fresh = client(h, bearer(token));
    fresh.send({ typeUrl: CDS, node: greeterNode('fresh-1') });
    await expectRefused(fresh, UNAUTHENTICATED, /not valid/);
    const ended = await open.ended(3000);
    expect(ended).toMatchObject({ code: PERMISSION_DENIED, details: `join token ${row.id} was revoked or has expired` });
    expect(bystander.status).toBeUndefined();
  });
});

describe('XDS_AUTH=loopback-plaintext', () => {
  let h: Awaited<ReturnType<typeof authHarness>>;
  beforeAll(async () => {
    h = await authHarness('loopback-plaintext');
  });

  it('serves a loopback client without a credential, whatever it claims', async () => {
    expect((await clusters(client(h), billingNode)).typeUrl).toBe(CDS);
    expect((await clusters(client(h), { id: 'gw-1', metadata: { role: 'gateway' } })).typeUrl).toBe(CDS);
  });

  it('still checks a credential that is presented', async () => {
    const c = client(h, bearer(greeterToken));
    c.send({ typeUrl: CDS, node: billingNode });
    await expectRefused(c, PERMISSION_DENIED, /is for default\/greeter/);
    const bad = client(h, bearer(newJoinToken()));
    bad.send({ typeUrl: CDS, node: billingNode });
    await expectRefused(bad, UNAUTHENTICATED, /not valid/);
  });
});

describe('mutual TLS with certificates of the mesh CA', () => {
  let ca: MeshCa;
  let h: Awaited<ReturnType<typeof authHarness>>;
  /** Client credentials for a certificate of `namespace/service` (the server's certificate has no DNS name to check). */
  const withCertificate = async (namespace: string, service: string): Promise<ConnectOptions> => {
    const issued = await ca.issue(namespace, service, 'cli');
    if (!issued.ok) throw new Error(JSON.stringify(issued.issues));
    const { keyPem, chainPem } = issued.value;
    return { credentials: grpc.credentials.createSsl(Buffer.from(ca.bundlePem()), Buffer.from(keyPem), Buffer.from(chainPem), { checkServerIdentity: () => undefined }) };
  };
  const serverOnlyTls = () => ({ credentials: grpc.credentials.createSsl(Buffer.from(ca.bundlePem()), null, null, { checkServerIdentity: () => undefined }) });

  beforeAll(async () => {
    ca = await openTestCa(t.db);
    const server = await ca.issue('apg-system', 'control-plane', 'cli');
    if (!server.ok) throw new Error(JSON.stringify(server.issues));
    h = await authHarness('required', { certChainPem: server.value.chainPem, keyPem: server.value.keyPem, clientCaPem: ca.bundlePem() });
  });

  it('serves a node that claims the SPIFFE identity of its client certificate', async () => {
    expect((await clusters(client(h, await withCertificate('default', 'greeter')), greeterNode())).typeUrl).toBe(CDS);
  });

  it('refuses a node claiming another identity than its certificate with PERMISSION_DENIED', async () => {
    const c = client(h, await withCertificate('default', 'greeter'));
    c.send({ typeUrl: CDS, node: billingNode });
    await expectRefused(c, PERMISSION_DENIED, /certificate spiffe:\/\/mesh\.local\/ns\/default\/sa\/greeter/);
  });

  it('accepts a join token over TLS without a client certificate, and refuses a client with neither', async () => {
    const c = client(h, { ...serverOnlyTls(), ...bearer(greeterToken) });
    expect((await clusters(c, greeterNode())).typeUrl).toBe(CDS);
    const none = client(h, serverOnlyTls());
    none.send({ typeUrl: CDS, node: greeterNode() });
    await expectRefused(none, UNAUTHENTICATED, /required/);
  });

  it('ignores a certificate another CA issued for the same identity: UNAUTHENTICATED', async () => {
    const foreign = await createRootCa({ commonName: 'elsewhere', trustDomain: 'mesh.local', algorithm: 'ecdsa-p256' });
    if (!foreign.ok) throw new Error(JSON.stringify(foreign.issues));
    const leaf = await issueWorkloadCertificate(foreign.value, { spiffeId: 'spiffe://mesh.local/ns/default/sa/greeter' });
    if (!leaf.ok) throw new Error(JSON.stringify(leaf.issues));
    const credentials = grpc.credentials.createSsl(Buffer.from(ca.bundlePem()), Buffer.from(leaf.value.keyPem!), Buffer.from(leaf.value.chainPem), {
      checkServerIdentity: () => undefined,
    });
    const c = client(h, { credentials });
    c.send({ typeUrl: CDS, node: greeterNode() });
    await expectRefused(c, UNAUTHENTICATED, /required/);
  });
});
