// The TLS material against Node's own TLS stack, over real handshakes on 127.0.0.1: the broker's
// certificate verified against the platform's CA with the address in its SAN, mutual TLS with a
// device certificate, and when a server certificate is issued again.
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCa, issueDeviceCertificate, issueServerCertificate, serverCertificateFor, type KeyPairPem } from '../../src/tls/certificates.js';

let ca: KeyPairPem;
let otherCa: KeyPairPem;
beforeAll(async () => {
  [ca, otherCa] = await Promise.all([createCa('greenhouse'), createCa('elsewhere')]);
});

interface Outcome {
  readonly client: { authorized: boolean; error?: string };
  readonly server: { authorized: boolean; peerCn?: string; error?: string };
}

/**
 * One TLS handshake between a server with `serverPem` (asking for a client certificate when
 * `requireClient`) and a client trusting `trusted`, connecting to 127.0.0.1 with `clientPem` if given.
 */
async function handshake(serverPem: KeyPairPem, trusted: string, opts: { requireClient?: boolean; clientPem?: KeyPairPem } = {}): Promise<Outcome> {
  let server: Outcome['server'] = { authorized: false, error: 'no connection' };
  const srv = tls.createServer({ key: serverPem.key, cert: serverPem.certificate, ca: [ca.certificate], requestCert: true, rejectUnauthorized: opts.requireClient === true }, (socket) => {
    const peer = socket.getPeerCertificate();
    server = { authorized: socket.authorized, peerCn: peer.subject?.CN as string | undefined, error: socket.authorizationError?.toString() };
    socket.end('ok');
  });
  srv.on('tlsClientError', (err: Error) => (server = { authorized: false, error: err.message }));
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as AddressInfo;
  const client = await new Promise<Outcome['client']>((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: [trusted], key: opts.clientPem?.key, cert: opts.clientPem?.certificate }, () => {
      socket.once('data', () => {
        resolve({ authorized: socket.authorized });
        socket.end();
      });
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve({ authorized: false, error: err.code ?? err.message }));
    // With TLS 1.3 the client finishes its side first; a server refusing the client's certificate then closes.
    socket.once('close', () => resolve({ authorized: false, error: 'closed by the server' }));
    socket.setTimeout(10_000, () => socket.destroy(new Error('timed out')));
  });
  await new Promise((r) => srv.close(r));
  return { client, server };
}

describe("the broker's certificate", () => {
  it('passes a TLS handshake verified against the CA, with the address in its SAN', async () => {
    const server = await issueServerCertificate(ca, '127.0.0.1');
    const { client } = await handshake(server, ca.certificate);
    expect(client).toEqual({ authorized: true });
    const cert = new X509Certificate(server.certificate);
    expect(cert.subjectAltName).toBe('IP Address:127.0.0.1');
    expect(cert.checkIssued(new X509Certificate(ca.certificate))).toBe(true);
    expect(cert.ca).toBe(false);
  });

  it('fails for a client that trusts another CA', async () => {
    const { client } = await handshake(await issueServerCertificate(ca, '127.0.0.1'), otherCa.certificate);
    expect(client.authorized).toBe(false);
    // The server sends its chain up to its own CA, which this client does not trust.
    expect(client.error).toMatch(/^(SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)$/);
  });

  it('fails at an address that is not in its SAN', async () => {
    const { client } = await handshake(await issueServerCertificate(ca, '192.0.2.10'), ca.certificate);
    expect(client).toEqual({ authorized: false, error: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  });

  it('takes a DNS name as well', async () => {
    const cert = new X509Certificate((await issueServerCertificate(ca, 'broker.example.org')).certificate);
    expect(cert.subjectAltName).toBe('DNS:broker.example.org');
    await expect(issueServerCertificate(ca, 'not a host;rm')).rejects.toThrow(/not an IP address or a DNS name/);
  });
});

describe('mutual TLS with a device certificate', () => {
  it('a device certificate from the CA is accepted by a broker that requires one', async () => {
    const server = await issueServerCertificate(ca, '127.0.0.1');
    const device = await issueDeviceCertificate(ca, 'sensor-7');
    const { client, server: seen } = await handshake(server, ca.certificate, { requireClient: true, clientPem: device });
    expect(client).toEqual({ authorized: true });
    expect(seen).toEqual({ authorized: true, peerCn: 'sensor-7', error: undefined });
  });

  it('no certificate, or one from another CA, is refused', async () => {
    const server = await issueServerCertificate(ca, '127.0.0.1');
    const none = await handshake(server, ca.certificate, { requireClient: true });
    expect(none.client.authorized).toBe(false);
    expect(none.server.authorized).toBe(false);
    const foreign = await handshake(server, ca.certificate, { requireClient: true, clientPem: await issueDeviceCertificate(otherCa, 'sensor-7') });
    expect(foreign.client.authorized).toBe(false);
    expect(foreign.server.authorized).toBe(false);
  });

  it('a device certificate is for clients only', async () => {
    // Used as a server certificate, a client's fails: its extended key usage is clientAuth.
    const device = await issueDeviceCertificate(ca, '127.0.0.1');
    const { client } = await handshake(device, ca.certificate);
    expect(client.authorized).toBe(false);
  });
});

describe('issuing the server certificate again', () => {
  const now = new Date('2027-01-01T00:00:00Z');
  const days = (n: number) => new Date(now.getTime() + n * 86_400_000);

  it('keeps the current one for the same address, CA and far expiry', async () => {
    const current = await serverCertificateFor(ca, '127.0.0.1', undefined, now);
    expect(current).toMatchObject({ issued: true, reason: 'none yet' });
    const again = await serverCertificateFor(ca, '127.0.0.1', current, days(300));
    expect(again).toEqual({ certificate: current.certificate, key: current.key, issued: false, reason: 'kept' });
  });

  it('issues a new one when the address changes', async () => {
    const current = await serverCertificateFor(ca, '127.0.0.1', undefined, now);
    const moved = await serverCertificateFor(ca, '127.0.0.2', current, days(1));
    expect(moved).toMatchObject({ issued: true, reason: 'address changed' });
    expect(new X509Certificate(moved.certificate).subjectAltName).toBe('IP Address:127.0.0.2');
  });

  it('issues a new one 30 days before expiry, not 31', async () => {
    const current = await serverCertificateFor(ca, '127.0.0.1', undefined, now);
    expect(await serverCertificateFor(ca, '127.0.0.1', current, days(365 - 31))).toMatchObject({ issued: false });
    const renewed = await serverCertificateFor(ca, '127.0.0.1', current, days(365 - 29));
    expect(renewed).toMatchObject({ issued: true, reason: 'expires soon' });
    expect(new Date(new X509Certificate(renewed.certificate).validTo).getTime()).toBeGreaterThan(days(365 + 300).getTime());
  });

  it('issues a new one when the CA was made again', async () => {
    const current = await serverCertificateFor(otherCa, '127.0.0.1', undefined, now);
    expect(await serverCertificateFor(ca, '127.0.0.1', current, now)).toMatchObject({ issued: true, reason: 'another CA' });
  });
});
