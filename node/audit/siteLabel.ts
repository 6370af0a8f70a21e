import type { SiteRegistryView } from "./siteRegistry";

/** A site's registered name and country, e.g. "Rigshospitalet (DK)", or null when the registry has none. */
export function siteName(sites: SiteRegistryView, site: string): string | null {
  const profile = sites.profiles.get(site.toLowerCase());
  return profile ? `${profile.name} (${profile.country})` : null;
}

/** A site for messages: its address, then its name when known. */
export function siteLabel(sites: SiteRegistryView, site: string): string {
  const name = siteName(sites, site);
  return name ? `${site} ${name}` : site;
}
