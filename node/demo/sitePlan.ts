/**
 * Which hospitals the demo runs: one per site, languages cycling Norway (nb), Sweden (sv), Denmark (da),
 * Finland (fi), Estonia (et), each signing with the public dev account siteN.
 */
import { devAccountAddress } from "../chain";
import type { Lang } from "../text/labels";

/** The five demo countries in the order sites are assigned. */
export const DEMO_COUNTRIES = [
  { lang: "nb", country: "NO", countryName: "Norway", city: "Oslo" },
  { lang: "sv", country: "SE", countryName: "Sweden", city: "Uppsala" },
  { lang: "da", country: "DK", countryName: "Denmark", city: "Aarhus" },
  { lang: "fi", country: "FI", countryName: "Finland", city: "Tampere" },
  { lang: "et", country: "EE", countryName: "Estonia", city: "Tartu" },
] as const satisfies readonly { lang: Lang; country: string; countryName: string; city: string }[];

/** One planned demo site. */
export interface DemoSite {
  /** 1-based position; the dev account is `site<index>`. */
  index: number;
  /** Folder and process name, e.g. "site-01-nb". */
  id: string;
  /** Dev account name signing for the site, e.g. "site1". */
  account: string;
  /** The operator address of that account. */
  address: string;
  lang: Lang;
  /** ISO 3166-1 alpha-2 code, e.g. "NO". */
  country: string;
  countryName: string;
  /** Display name registered on the chain (at most 64 bytes). */
  name: string;
}

/**
 * The sites of a demo with `count` sites. Site i takes country (i-1) mod 5; a second hospital in the same
 * country gets a number after its name.
 *
 * @example
 * planSites(2).map((s) => `${s.id} ${s.lang}`); // ["site-01-nb nb", "site-02-sv sv"]
 */
export function planSites(count: number): DemoSite[] {
  return Array.from({ length: count }, (_, i) => {
    const c = DEMO_COUNTRIES[i % DEMO_COUNTRIES.length];
    const nth = Math.floor(i / DEMO_COUNTRIES.length) + 1;
    const account = `site${i + 1}`;
    return {
      index: i + 1,
      id: `site-${String(i + 1).padStart(2, "0")}-${c.lang}`,
      account,
      address: devAccountAddress(account),
      lang: c.lang,
      country: c.country,
      countryName: c.countryName,
      name: `${c.city} demo hospital${nth > 1 ? ` ${nth}` : ""} (${c.countryName})`,
    };
  });
}

/** The distinct languages of a site plan, in first-seen order. */
export function planLanguages(sites: readonly DemoSite[]): Lang[] {
  return [...new Set(sites.map((s) => s.lang))];
}
