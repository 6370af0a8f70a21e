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
 * Then whole rounds (unless --skip-rounds), with the real processes: for each site count, the same demo (the
 * embedded chain, `fedledger aggregator run`, one `fedledger site run` per site, real HTTP and training) runs
 * with plaintext updates and with secure aggregation, in alternating order, and the script prints the median
 * round time of rounds 2 and later of each and their ratio. Every site process shares this machine's cores.
 *
 *   npm run bench:secagg -- [--sites 5,20] [--reps 3] [--skip-rounds] [--round-notes 200] [--round-epochs 1]
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
import { parseDemoSettings } from "../node/demo/options";
import { parseLogEvent, type LogEvent } from "../node/demo/processes";
import { roundTimings } from "../node/demo/roundTimings";
import { DemoSession } from "../node/demo/session";
import { Writable } from "node:stream";
import os from "node:os";
import path from "node:path";
import { rm } from "node:fs/promises";
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

/** One demo run's round times (rounds 2 and later) and bytes the sites uploaded, from the services' logs. */
async function runRounds(
  sites: number,
  secure: boolean,
  o: { roundNotes: number; roundEpochs: number; rounds: number },
): Promise<{ medianRoundSeconds: number; rounds: number[] }> {
  const out = path.join(
    os.tmpdir(),
    `fedledger-bench-secagg-${process.pid}-${sites}-${secure ? "secure" : "plain"}`,
  );
  const settings = parseDemoSettings({
    sites,
    rounds: o.rounds,
    notesPerSite: o.roundNotes,
    testNotesPerLang: 10,
    localEpochs: o.roundEpochs,
    commitWindowSeconds: 600,
    skipBaselines: true,
    secureAggregation: secure,
    out,
  });
  const quiet = new Writable({ write: (_c, _e, done) => done() });
  const session = await DemoSession.prepare(settings, { stdout: quiet });
  const aggregatorEvents: LogEvent[] = [];
  const siteEvents: LogEvent[] = [];
  try {
    const aggregator = await session.startAggregator();
    aggregator.onLine((line) => {
      const e = parseLogEvent(line);
      if (e) aggregatorEvents.push(e);
    });
    for (const site of session.sites)
      session.startSite(site).onLine((line) => {
        const e = parseLogEvent(line);
        if (e) siteEvents.push(e);
      });
    await session.follow((snap) => snap.done);
  } finally {
    await session.close();
    await rm(out, { recursive: true, force: true });
  }
  const rounds = roundTimings(aggregatorEvents, siteEvents)
    .filter((r) => r.round > 1)
    .map((r) => r.seconds);
  return { medianRoundSeconds: median(rounds), rounds };
}

async function main(): Promise<void> {
  const opts = new Command("bench-secagg")
    .option("--sites <list>", "site counts", siteCounts, [5, 20])
    .option("--reps <n>", "repetitions per site count (medians)", whole(1, 20), 3)
    .option("--skip-rounds", "measure the cryptography only, not whole rounds")
    .option("--round-notes <n>", "training notes per site in the round runs", whole(10, 100_000), 200)
    .option("--round-epochs <n>", "local epochs in the round runs", whole(1, 100), 1)
    .option("--rounds <n>", "rounds per run (round 1, with the start-up, is not counted)", whole(2, 50), 4)
    .parse()
    .opts<{
      sites: number[];
      reps: number;
      skipRounds?: boolean;
      roundNotes: number;
      roundEpochs: number;
      rounds: number;
    }>();
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
  const roundResults = [];
  if (!opts.skipRounds) {
    console.log(
      `\nWhole rounds through the real processes (${opts.roundNotes} notes per site, ${opts.roundEpochs} epoch(s), ` +
        `rounds 2–${opts.rounds}; all processes share this machine's ${os.cpus().length} cores):`,
    );
    console.log("sites  plaintext round s  secure round s  ratio");
    for (const [i, n] of opts.sites.entries()) {
      // Alternate which kind runs first, so that drift on the machine hits both alike.
      const order = i % 2 === 0 ? [false, true] : [true, false];
      const runs = new Map<boolean, Awaited<ReturnType<typeof runRounds>>>();
      for (const secure of order) runs.set(secure, await runRounds(n, secure, opts));
      const plain = runs.get(false) as Awaited<ReturnType<typeof runRounds>>;
      const secure = runs.get(true) as Awaited<ReturnType<typeof runRounds>>;
      const ratio = secure.medianRoundSeconds / plain.medianRoundSeconds;
      roundResults.push({ sites: n, plaintext: plain, secure, ratio });
      console.log(
        `${String(n).padStart(5)}  ${plain.medianRoundSeconds.toFixed(2).padStart(17)}  ${secure.medianRoundSeconds
          .toFixed(2)
          .padStart(14)}  ${ratio.toFixed(2).padStart(5)}`,
      );
    }
    console.log("(target: ≤ 1.25× plaintext round time at 5 sites)");
  }
  console.log(JSON.stringify({ values: length, results, rounds: roundResults }, null, 2));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
