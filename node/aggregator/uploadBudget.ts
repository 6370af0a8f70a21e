/**
 * Caps the upload body bytes the aggregator holds at once, in total and per site. An upload reserves its
 * declared Content-Length (or the upload limit when it is chunked) right before its body is read, and gives it
 * back when the request ends; a reservation that does not fit is refused with 503 `busy` and Retry-After, so a
 * burst of large uploads waits its turn instead of growing the process without bound.
 */
import { ApiError } from "./apiError";

/** The caps, in bytes. */
export interface UploadBudgetLimits {
  total: number;
  perSite: number;
  /** What Retry-After says when a reservation is refused. */
  retryAfterSeconds: number;
}

/** Bytes reserved by the uploads being read. */
export class UploadBudget {
  private inFlight = 0;
  private readonly bySite = new Map<string, number>();

  constructor(private readonly limits: UploadBudgetLimits) {}

  /** Bytes reserved now, over all sites. */
  get bytesInFlight(): number {
    return this.inFlight;
  }

  /**
   * Reserves `bytes` for `site` and returns the function that gives them back (call it once). Throws
   * ApiError "busy" (503, with retryAfterSeconds) when the total or the site's cap would be passed.
   */
  reserve(site: string, bytes: number): () => void {
    const key = site.toLowerCase();
    const siteNow = this.bySite.get(key) ?? 0;
    if (siteNow + bytes > this.limits.perSite)
      throw new ApiError(
        "busy",
        `site ${site} already has ${siteNow} upload bytes in flight; the cap per site is ${this.limits.perSite}`,
        `Send one upload at a time; retry after ${this.limits.retryAfterSeconds} s`,
        this.limits.retryAfterSeconds,
      );
    if (this.inFlight + bytes > this.limits.total)
      throw new ApiError(
        "busy",
        `the aggregator is receiving ${this.inFlight} upload bytes; the cap is ${this.limits.total}`,
        `Retry after ${this.limits.retryAfterSeconds} s`,
        this.limits.retryAfterSeconds,
      );
    this.inFlight += bytes;
    this.bySite.set(key, siteNow + bytes);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight -= bytes;
      const left = (this.bySite.get(key) ?? bytes) - bytes;
      if (left > 0) this.bySite.set(key, left);
      else this.bySite.delete(key);
    };
  }
}
