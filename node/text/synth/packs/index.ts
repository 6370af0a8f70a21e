/**
 * Language packs by language. A language without a pack cannot be generated.
 */
import type { Lang } from "../../labels";
import type { LangPack } from "../pack";
import { DA } from "./da";
import { ET } from "./et";
import { FI } from "./fi";
import { NB } from "./nb";
import { SV } from "./sv";

/** Available language packs. */
export const PACKS: Partial<Record<Lang, LangPack>> = { nb: NB, sv: SV, da: DA, fi: FI, et: ET };
