/**
 * `npm run bench:secagg`: what secure aggregation's cryptography costs one site and the aggregator, against
 * the plaintext path, in one run, for a full-size update of the default model spec. Sites share this process
 * (the issue allows it for this benchmark); nothing here goes over the network, so the figures are the
 * protocol's computation and the bytes each message would carry. Prints a table and JSON; asserts nothing.
 *
 * Per site count (default 5 and 20; one site drops after sharing, so the aggregator also rebuilds a key):
 *   - plaintext: encoding the update to bytes and SHA-256 (what a site does today before uploading);
 *   - site: advertise, share (split and encrypt to n − 1 sites), open n − 1 shares, mask (quantise, self mask,
 *     n − 1 pairwise masks), answer the unmasking request;
 *   - aggregator: rebuild the secrets and check them, and unmask the sum (n − 1 self masks, n − 1 pairwise
 *     masks of the dropped site), against summing n plaintext updates;
 *   - bytes a site sends: advertisement, shares, masked update, answer (JSON as the services would carry it).
 *
 *   npm run bench:secagg -- [--sites 5,20] [--reps 3]
 */
import { createHash } from "node:crypto";
import { Command, InvalidArgumentError } from "commander";
import { HDNodeWallet, Mnemonic } from "ethers";
import { defaultSpec } from "../node/model";
import { encodeModel } from "../node/model/format";
import { expectedTensors } from "../node/model/params";
import { Prng } from "../node/model/prng";
import {
  advertiseKeys,
  answerUnmasking,
  buildUnmaskingMaterial,
  createRoundSecrets,
  maskUpdate,
  openShare,
  shareSecrets,
  unmaskSum,
  type HeldShare,
  type SecAggContext,
} from "../node/secagg";
import { whole } from "./cliArgs";
import { median } from "./stats";

function siteCounts(value: string): number[] {
  const counts = value.split(",").map((v) => Number(v.trim()));
  if (counts.some((n) => !Number.isInteger(n) || n < 3 || n > 50))
    throw new InvalidArgumentError("expected site counts from 3 to 50, separated by commas.");
  return counts;
}

const time = <T>(fn: () => T): [T, number] => {
  const start = process.hrtime.bigint();
  const out = fn();
  return [out, Number(process.hrtime.bigint() - start) / 1e6];
};

async function measure(n: number, length: number) {
  const context: SecAggContext = { chainId: 31337n, ledger: "0x" + "11".repeat(20), taskId: 1n, round: 1 };
  const params = { scaleBits: 12, clip: 1, threshold: Math.ceil((2 * n) / 3) };
  const mnemonic = Mnemonic.fromPhrase("test test test test test test test test test test test junk");
  const wallets = Array.from({ length: n }, (_, i) =>
    HDNodeWallet.fromMnemonic(mnemonic, `m/44'/60'/0'/0/${i}`),
  );
  const prng = new Prng(n, "bench values");
  const values = Float32Array.from({ length }, () => (prng.next() - 0.5) * 0.01);
  const tensors = expectedTensors(defaultSpec()).map((t) => ({
    ...t,
    data: new Float32Array(t.shape.reduce((a, b) => a * b, 1)),
  }));

  const [, plainMs] = time(() => createHash("sha256").update(encodeModel(tensors)).digest());
  const secrets = wallets.map((w) => createRoundSecrets(w.address));
  const adStart = process.hrtime.bigint();
  const ads = await Promise.all(secrets.map((s, i) => advertiseKeys(context, s, wallets[i])));
  const advertiseMs = Number(process.hrtime.bigint() - adStart) / 1e6 / n;
  const held: HeldShare[][] = secrets.map(() => []);
  const shareTimes: number[] = [];
  const openTimes: number[] = new Array(n).fill(0);
  let shareBytes = 0;
  secrets.forEach((s, i) => {
    const [{ encrypted, own }, ms] = time(() => shareSecrets(context, params, s, ads));
    shareTimes.push(ms);
    if (i === 0) shareBytes = Buffer.byteLength(JSON.stringify(encrypted));
    held[i].push(own);
    for (const e of encrypted) {
      const j = wallets.findIndex((w) => w.address === e.to);
      const [share, openMs] = time(() => openShare(context, secrets[j], ads, e));
      openTimes[j] += openMs;
      held[j].push(share);
    }
  });
  // The last site drops after sharing; the others upload.
  const survivors = wallets.slice(0, n - 1).map((w) => w.address);
  const masked = new Map<string, Uint32Array>();
  const maskTimes: number[] = [];
  for (let i = 0; i < n - 1; i++) {
    const [words, ms] = time(() => maskUpdate(context, params, secrets[i], ads, values, 100, Math.random));
    maskTimes.push(ms);
    masked.set(wallets[i].address, words);
  }
  const request = { survivors, dropped: [wallets[n - 1].address] };
  const answerTimes: number[] = [];
  const answers = survivors.map((_, i) => {
    const [a, ms] = time(() =>
      answerUnmasking(
        params,
        secrets[i],
        held[i],
        ads.map((a) => a.site),
        request,
        (s) => survivors.includes(s),
      ),
    );
    answerTimes.push(ms);
    return a;
  });
  const [material, rebuildMs] = time(() => buildUnmaskingMaterial(context, params, ads, request, answers));
  const [, unmaskMs] = time(() => unmaskSum(context, material, masked));
  const plainSum = new Float32Array(length);
  const [, plainSumMs] = time(() => {
    for (let s = 0; s < n - 1; s++) for (let k = 0; k < length; k++) plainSum[k] += values[k] * 100;
  });
  const siteMs =
    advertiseMs + median(shareTimes) + median(openTimes) + median(maskTimes) + median(answerTimes);
  return {
    sites: n,
    threshold: params.threshold,
    values: length,
    plaintextSiteMs: plainMs,
    site: {
      advertiseMs,
      shareMs: median(shareTimes),
      openSharesMs: median(openTimes),
      maskMs: median(maskTimes),
      answerMs: median(answerTimes),
      totalMs: siteMs,
    },
    aggregator: { rebuildAndCheckMs: rebuildMs, unmaskMs, plaintextSumMs: plainSumMs },
    bytesSentPerSite: {
      advertisement: Buffer.byteLength(JSON.stringify(ads[0])),
      shares: shareBytes,
      maskedUpdate: 4 * length,
      answer: Buffer.byteLength(JSON.stringify(answers[0])),
      plaintextUpdate: encodeModel(tensors).length,
    },
  };
}

async function main(): Promise<void> {
  const opts = new Command("bench-secagg")
    .option("--sites <list>", "site counts", siteCounts, [5, 20])
    .option("--reps <n>", "repetitions per site count (medians)", whole(1, 20), 3)
    .parse()
    .opts<{ sites: number[]; reps: number }>();
  const length = expectedTensors(defaultSpec()).reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0);
  const results = [];
  for (const n of opts.sites) {
    const runs: Awaited<ReturnType<typeof measure>>[] = [];
    for (let r = 0; r < opts.reps; r++) runs.push(await measure(n, length));
    const pick = (f: (x: (typeof runs)[number]) => number) => median(runs.map(f));
    results.push({
      ...runs[0],
      plaintextSiteMs: pick((x) => x.plaintextSiteMs),
      site: {
        advertiseMs: pick((x) => x.site.advertiseMs),
        shareMs: pick((x) => x.site.shareMs),
        openSharesMs: pick((x) => x.site.openSharesMs),
        maskMs: pick((x) => x.site.maskMs),
        answerMs: pick((x) => x.site.answerMs),
        totalMs: pick((x) => x.site.totalMs),
      },
      aggregator: {
        rebuildAndCheckMs: pick((x) => x.aggregator.rebuildAndCheckMs),
        unmaskMs: pick((x) => x.aggregator.unmaskMs),
        plaintextSumMs: pick((x) => x.aggregator.plaintextSumMs),
      },
    });
  }
  console.log(
    `Secure aggregation of one round, ${length.toLocaleString("en")} values (default spec), medians of ${opts.reps}:`,
  );
  console.log(
    "sites  site crypto ms (mask)  site plaintext ms  aggregator unmask ms (plain sum)  bytes sent per site (plaintext)",
  );
  for (const r of results) {
    const sent = r.bytesSentPerSite;
    const total = sent.advertisement + sent.shares + sent.maskedUpdate + sent.answer;
    console.log(
      `${String(r.sites).padStart(5)}  ${r.site.totalMs.toFixed(0).padStart(8)} (${r.site.maskMs.toFixed(0)})` +
        `${r.plaintextSiteMs.toFixed(0).padStart(19)}  ${(r.aggregator.rebuildAndCheckMs + r.aggregator.unmaskMs).toFixed(0).padStart(12)} (${r.aggregator.plaintextSumMs.toFixed(0)})` +
        `${total.toLocaleString("en").padStart(28)} (${sent.plaintextUpdate.toLocaleString("en")})`,
    );
  }
  if (results.length >= 2) {
    const [a, b] = [results[0], results[results.length - 1]];
    console.log(
      `per-site crypto time ×${(b.site.totalMs / a.site.totalMs).toFixed(2)} for ×${(b.sites / a.sites).toFixed(1)} sites ` +
        `(linear growth would be ×${((b.sites - 1) / (a.sites - 1)).toFixed(2)}: one pairwise mask per other site)`,
    );
  }
  console.log(JSON.stringify({ values: length, results }, null, 2));
}

void main();
