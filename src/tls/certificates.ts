// A platform's TLS material, made with @peculiar/x509 over Node's WebCrypto (no openssl): the CA
// (made once, kept encrypted in the repository), the broker's server certificate (issued at deploy,
// when the VM's address is known) and device certificates for mutual TLS. ECDSA P-256 keys and
// SHA-256 signatures throughout, which RabbitMQ (Erlang's ssl), Node, Python and embedded TLS
// stacks all accept.
import 'reflect-metadata'; // @peculiar/x509's dependency injection needs the Reflect API first
import { randomBytes, webcrypto, X509Certificate as NodeX509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';
import { MytError } from '../errors.js';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
const subtle = webcrypto.subtle;
const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

/** How long each certificate is valid. */
export const VALIDITY_DAYS = { ca: 3650, server: 365, device: 730 } as const;
/** A server certificate is issued again this close to its expiry. */
export const RENEW_BEFORE_DAYS = 30;

/** A certificate and its private key, both PEM (the key PKCS#8). */
export interface KeyPairPem {
  readonly certificate: string;
  readonly key: string;
}

async function newKeys(): Promise<CryptoKeyPair> {
  return (await subtle.generateKey(ALGORITHM, true, ['sign', 'verify']));
}

async function keyPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

/** A positive 128-bit serial number (RFC 5280: positive, at most 20 octets). */
function serial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f;
  return b.toString('hex');
}

/** The CN of a distinguished name, escaped for x509's string form. */
function cn(value: string): string {
  return `CN=${value.replace(/[\\,+="<>#;]/g, (c) => `\\${c}`)}`;
}

export async function createCa(platform: string, now = new Date()): Promise<KeyPairPem> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: cn(`MyT ${platform} CA`),
    notBefore: new Date(now.getTime() - 5 * 60_000),
    notAfter: new Date(now.getTime() + VALIDITY_DAYS.ca * DAY),
    signingAlgorithm: ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certificate: cert.toString('pem'), key: await keyPem(keys.privateKey) };
}

interface OpenedCa {
  readonly cert: x509.X509Certificate;
  readonly key: CryptoKey;
}

async function openCa(ca: KeyPairPem): Promise<OpenedCa> {
  try {
    const cert = new x509.X509Certificate(ca.certificate);
    const key = await subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(ca.key), ALGORITHM, false, ['sign']);
    return { cert, key };
  } catch {
    throw new MytError("the platform's CA could not be read (caCertificate and caKey must be the PEM text 'myt tls init' wrote)");
  }
}

/** A name in a certificate's subject alternative names: an IP address or a DNS name. */
function subjectAltName(address: string) {
  return isIP(address) ? { type: 'ip' as const, value: address } : { type: 'dns' as const, value: address };
}

async function issue(ca: KeyPairPem, subject: string, usage: 'server' | 'device', names: { type: 'ip' | 'dns'; value: string }[], now: Date, days: number): Promise<KeyPairPem> {
  const { cert: caCert, key: caKey } = await openCa(ca);
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: cn(subject),
    issuer: caCert.subject,
    notBefore: new Date(now.getTime() - 5 * 60_000),
    notAfter: new Date(now.getTime() + days * DAY),
    signingAlgorithm: ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
      ...(names.length ? [new x509.SubjectAlternativeNameExtension(names)] : []),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certificate: cert.toString('pem'), key: await keyPem(keys.privateKey) };
}

/** The broker's certificate for devices that reach it at `address` (the VM's IP address or DNS name). */
export async function issueServerCertificate(ca: KeyPairPem, address: string, now = new Date()): Promise<KeyPairPem> {
  if (!isIP(address) && !/^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(address)) {
    throw new MytError(`'${address}' is not an IP address or a DNS name to issue the broker's certificate for`);
  }
  return issue(ca, address, 'server', [subjectAltName(address)], now, VALIDITY_DAYS.server);
}

/** A device's client certificate for mutual TLS; its CN is the device name. */
export async function issueDeviceCertificate(ca: KeyPairPem, device: string, now = new Date(), days: number = VALIDITY_DAYS.device): Promise<KeyPairPem> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(device)) throw new MytError(`device name '${device}' must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  return issue(ca, device, 'device', [], now, days);
}

export interface ServerCertificate extends KeyPairPem {
  /** Whether a new certificate was issued, and why; false when the current one is kept. */
  readonly issued: boolean;
  readonly reason: 'none yet' | 'another CA' | 'address changed' | 'expires soon' | 'kept';
}

/**
 * The broker's certificate for the VM at `address`: the current one (read back from the VM by the
 * deploy step) when it was issued by this CA for this address and is valid for more than
 * RENEW_BEFORE_DAYS; a new one otherwise. The deploy step calls this; nothing is committed.
 */
export async function serverCertificateFor(ca: KeyPairPem, address: string, current: KeyPairPem | undefined, now = new Date()): Promise<ServerCertificate> {
  const renew = async (reason: ServerCertificate['reason']) => ({ ...(await issueServerCertificate(ca, address, now)), issued: true, reason });
  if (current === undefined) return renew('none yet');
  let cert: NodeX509Certificate;
  let caCert: NodeX509Certificate;
  try {
    cert = new NodeX509Certificate(current.certificate);
    caCert = new NodeX509Certificate(ca.certificate);
  } catch {
    return renew('none yet');
  }
  if (!cert.checkIssued(caCert) || !cert.verify(caCert.publicKey)) return renew('another CA');
  if ((isIP(address) ? cert.checkIP(address) : cert.checkHost(address, { wildcards: false })) === undefined) return renew('address changed');
  if (new Date(cert.validTo).getTime() - now.getTime() < RENEW_BEFORE_DAYS * DAY) return renew('expires soon');
  return { ...current, issued: false, reason: 'kept' };
}
