import { isIPv4 } from 'node:net';

/** An IPv4 CIDR block: its address as a 32-bit number and its prefix length. */
export interface Ipv4Block {
  readonly address: number;
  readonly bits: number;
}

/** `a.b.c.d/n`, each octet 0-255 (node's isIPv4: no leading zeros), n 0-32; undefined otherwise. */
export function parseIpv4Block(text: string): Ipv4Block | undefined {
  const [address = '', bits = '', ...rest] = text.split('/');
  if (rest.length || !isIPv4(address) || !/^(0|[1-9][0-9]?)$/.test(bits) || Number(bits) > 32) return undefined;
  return { address: address.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0), bits: Number(bits) };
}

/** The block's network address: its address with the host bits cleared. */
export function networkAddress(block: Ipv4Block): number {
  const mask = block.bits === 0 ? 0 : 2 ** 32 - 2 ** (32 - block.bits);
  return (block.address & mask) >>> 0;
}

export function formatIpv4(address: number): string {
  return [24, 16, 8, 0].map((shift) => (address >>> shift) & 255).join('.');
}
