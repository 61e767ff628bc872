/** Cloud-side name of a platform's resources; platform names are already DNS-safe (schema pattern). */
export function cloudName(platform: string, suffix?: string): string {
  return suffix ? `myt-${platform}-${suffix}` : `myt-${platform}`;
}

/** Tags/labels every resource carries, so a person can find what MyT made in the console. */
export function tagsFor(kind: 'platform' | 'space', name: string): Record<string, string> {
  return { 'managed-by': 'myt', [`myt-${kind}`]: name };
}

/**
 * A string from the user's YAML as a Terraform literal. Terraform reads `${...}` and `%{...}` in
 * JSON strings as templates (and cdktf reads `${TfToken[...]}` as its tokens), so a value must
 * have them escaped to stay the text it is. Every user-supplied string passes through here.
 */
export function literal(value: string): string {
  return value.replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{');
}
