/**
 * Which region a zone belongs to, by each cloud's own naming rule (the schemas already hold zones
 * and regions to these shapes). OpenStack availability zones are free names, unrelated to regions.
 */
interface ZoneNaming {
  /** The region part of a zone name. */
  readonly region: RegExp;
  readonly example: (region: string) => string;
  /** Where the rule is written down. */
  readonly source: string;
}

export const ZONE_NAMING: Readonly<Record<'aws' | 'gcp', ZoneNaming>> = {
  aws: {
    region: /^(.+)[a-z]$/,
    example: (region) => `${region}a`,
    source: 'https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-availability-zones.html ("The code for an Availability Zone is its Region code followed by a letter identifier")',
  },
  gcp: {
    region: /^(.+)-[a-z]$/,
    example: (region) => `${region}-b`,
    source: 'terraform-provider-google, google/functions/region_from_zone.go (the region is the zone without its last "-" part)',
  },
};

/** Why `zone` is not in `region`, or undefined when it is. */
export function zoneOutsideRegion(provider: keyof typeof ZONE_NAMING, region: string, zone: string): string | undefined {
  const naming = ZONE_NAMING[provider];
  const zoneRegion = naming.region.exec(zone)?.[1];
  if (zoneRegion === region) return undefined;
  return `zone '${zone}' is ${zoneRegion ? `in region ${zoneRegion}` : 'not a zone name'}, not in region ${region} (its zones are named like ${naming.example(region)})`;
}
