/** Where a cloud platform's VM SSH key lives; `myt keys generate NAME` writes it. */
export function platformKeyFile(name: string): string {
  return `secrets/keys/${name}.enc.yaml`;
}
