/**
 * `npm run bench:round [-- options]`: what the ledger costs a federated round.
 *
 * Runs the same rounds with and without the ledger, with the same processes (the real `fedledger aggregator
 * run` and `fedledger site run`), the same HTTP uploads, the same notes, seeds and training:
 *
 *   - with the ledger: the TrainingLedger on the embedded chain (open, commit, finalise are transactions, and
 *     the services poll the chain);
 *   - without it: the same aggregator and site services run on an in-memory ledger under the same rules
 *     (scripts/offLedger/: the ledger port's other implementation, with its own entry point), and the sites
 *     read rounds and commit over the aggregator's HTTP API. The chain keeps
 *     running idle; the script counts its requests during these runs (it must be zero).
 *
 * The two kinds of run alternate (`--pairs`, with the order swapped in every other pair) so that load from
 * elsewhere on the machine hits both alike. Prints, per round, the median wall time of each kind, their ratio,
 * and the share of the round spent waiting on the chain (open + slowest commit + finalise, send to receipt),
 * and the CPU time the chain node used. Both kinds must end with the same model: the training is
 * deterministic and the ledger does not change what is trained. Timing stays out of the tests; this script
 * prints figures.
 */
import { createWriteStream } from "node:fs";
import { mkdir, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Command, Option } from "commander";
import { CHAIN_NICENESS, CHAIN_NODE_KINDS, startEmbeddedChain, type ChainNodeKind } from "../node/chain";
import type { DemoLayout } from "../node/demo/configs";
import { parseDemoSettings } from "../node/demo/options";
import {
  describeExit,
  parseLogEvent,
  waitForLogEvent,
  type LogEvent,
  type ManagedProcess,
} from "../node/demo/processes";
import { roundTimings, type RoundTiming } from "../node/demo/roundTimings";
import { DemoSession } from "../node/demo/session";
import { FedledgerError } from "../node/errors";
import { writeOffLedgerRun, type OffLedgerRun } from "./offLedger/run";
import { median } from "./stats";

process.env.FEDLEDGER_QUIET ??= "1";

interface RunResult {
  label: string;
  rounds: RoundTiming[];
  finalModel: string | undefined;
  seconds: number;
  /** CPU seconds the chain node used during the run (Linux only). */
  chainCpuSeconds?: number;
  /** JSON-RPC requests the chain node served during the run (undefined when not counted). */
  chainRequests?: number;
  /** Seconds from send to receipt of each chain write, by kind (runs with the ledger). */
  writes: { open: number[]; commit: number[]; finalize: number[] };
}

function integer(flag: string) {
  return (value: string): number => {
    if (!/^[0-9]+$/.test(value.trim()))
      throw new FedledgerError(`${flag} must be a whole number, got "${value}"`, { exitCode: 2 });
    return Number(value);
  };
}

/** The chain the benchmark starts once: its URL, pid and a count of the requests it served. */
interface BenchChain {
  url: string;
  pid: number;
  /** Requests counted from the node's request log (undefined while the log is off). */
  requests(): number | undefined;
  setRequestLog(enabled: boolean): Promise<void>;
}

/** User plus system CPU seconds of a process, from /proc (undefined elsewhere). */
async function cpuSeconds(pid: number): Promise<number | undefined> {
  try {
    const fields = (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** Starts the aggregator, then the sites, and waits until the aggregator reports the task done. */
async function runOnce(
  session: DemoSession,
  label: string,
  layout: DemoLayout,
  /** The off-ledger run's processes; undefined for the run on the ledger (the `fedledger` CLI). */
  offLedger: OffLedgerRun | undefined,
  chain: BenchChain,
  countRequests: boolean,
): Promise<RunResult> {
  // The request log stays on for the runs without the ledger, to show that they send the chain nothing; with
  // the ledger it is off unless --count-requests (describing each request costs the node CPU time).
  await chain.setRequestLog(label !== "ledger" || countRequests);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const cpuBefore = await cpuSeconds(chain.pid);
  const requestsBefore = chain.requests();
  const aggregatorEvents: LogEvent[] = [];
  const siteEvents: LogEvent[] = [];
  const collect = (into: LogEvent[]) => (line: string) => {
    const event = parseLogEvent(line);
    if (event) into.push(event);
  };
  const started = Date.now();
  const aggregator = session.group.start({
    name: `${label} aggregator`,
    ...(offLedger?.aggregator ?? { args: ["aggregator", "run", "--config", layout.aggregatorConfig] }),
    logFile: path.join(layout.logsDir, "aggregator.log"),
  });
  aggregator.onLine(collect(aggregatorEvents));
  const timeoutMs = session.settings.rounds * 120_000;
  const done = waitForLogEvent(aggregator, (e) => e.event === "task_done", timeoutMs);
  done.catch(() => undefined);
  await waitForLogEvent(aggregator, (e) => e.event === "aggregator_started", 60_000);
  const sites: ManagedProcess[] = session.sites.map((site) => {
    const proc = session.group.start({
      name: `${label} ${site.id}`,
      ...(offLedger?.site(site) ?? { args: ["site", "run", "--config", layout.siteConfig(site)] }),
      logFile: path.join(layout.logsDir, `${site.id}.log`),
    });
    proc.onLine(collect(siteEvents));
    return proc;
  });
  const siteFailed = new Promise<never>((_, reject) => {
    for (const proc of sites)
      void proc.exited.then((exit) => {
        if (exit.code !== 0)
          reject(new FedledgerError(`${proc.name} ${describeExit(exit)}: ${proc.tail(3).join(" | ")}`));
      });
  });
  siteFailed.catch(() => undefined);
  try {
    await Promise.race([done, siteFailed]);
  } finally {
    await Promise.all([aggregator, ...sites].map((p) => p.stop()));
  }
  const finalized = aggregatorEvents.filter((e) => e.event === "round_finalized");
  const cpuAfter = await cpuSeconds(chain.pid);
  return {
    label,
    rounds: roundTimings(aggregatorEvents, siteEvents),
    finalModel: finalized.length > 0 ? String(finalized[finalized.length - 1].modelHash) : undefined,
    seconds: (Date.now() - started) / 1000,
    chainCpuSeconds: cpuBefore !== undefined && cpuAfter !== undefined ? cpuAfter - cpuBefore : undefined,
    chainRequests:
      requestsBefore !== undefined && chain.requests() !== undefined
        ? (chain.requests() as number) - requestsBefore
        : undefined,
    writes: {
      open: secondsOf(aggregatorEvents, "round_opened", "ledgerSeconds", 1),
      commit: secondsOf(siteEvents, "committed", "ms", 1 / 1000),
      finalize: secondsOf(aggregatorEvents, "round_finalized", "ledgerSeconds", 1),
    },
  };
}

/** The numeric field `field` of every `event` in `events`, times `scale`. */
function secondsOf(events: readonly LogEvent[], event: string, field: string, scale: number): number[] {
  return events
    .filter((e) => e.event === event && typeof e[field] === "number")
    .map((e) => (e[field] as number) * scale);
}

/** Median time of each kind of chain write, in seconds and (with a block time) in block times. */
function writeLines(runs: readonly RunResult[], blockTime: number | undefined): string[] {
  const kinds = [
    ["openRound (aggregator)", runs.flatMap((r) => r.writes.open)],
    ["commitUpdate (sites)", runs.flatMap((r) => r.writes.commit)],
    ["finalizeRound (aggregator)", runs.flatMap((r) => r.writes.finalize)],
  ] as const;
  const lines = [
    "",
    `Chain writes, send to receipt (median, max over ${runs.length} run(s) with the ledger` +
      `${blockTime ? `; a block every ${blockTime} s, target ≤ 1.2 block times` : "; a block per transaction"}):`,
  ];
  for (const [name, xs] of kinds) {
    if (xs.length === 0) continue;
    const med = median(xs);
    const max = Math.max(...xs);
    lines.push(
      `  ${name.padEnd(27)} ${med.toFixed(3)} s, max ${max.toFixed(3)} s` +
        (blockTime
          ? ` = ${(med / blockTime).toFixed(2)} block times (max ${(max / blockTime).toFixed(2)})`
          : "") +
        ` (${xs.length} writes)`,
    );
  }
  return lines;
}

/** Colour codes in the node's output, and a line holding only a JSON-RPC method name (e.g. "eth_call"). */
const ANSI_COLOUR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");
const METHOD_LINE = /^[a-z]+_[A-Za-z]+$/;

function pct(x: number): string {
  return `${(100 * x).toFixed(1)} %`;
}

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

/** The figures table; `ledger` and `off` hold one run per pair. */
function report(ledger: RunResult[], off: RunResult[], blockTime: number | undefined): string[] {
  const rounds = ledger[0].rounds.map((r) => r.round);
  const at = (runs: RunResult[], round: number, key: "seconds" | "ledgerSeconds") =>
    median(runs.map((run) => run.rounds.find((r) => r.round === round)?.[key] ?? Number.NaN));
  const lines = [
    "",
    `Median over ${ledger.length} run(s) of each kind:`,
    "Round  With ledger  Without  Ratio  Chain wait  Chain share",
    "─────  ───────────  ───────  ─────  ──────────  ───────────",
  ];
  for (const round of rounds) {
    const w = at(ledger, round, "seconds");
    const o = at(off, round, "seconds");
    const wait = at(ledger, round, "ledgerSeconds");
    lines.push(
      [
        String(round).padEnd(5),
        `${w.toFixed(2)} s`.padStart(11),
        `${o.toFixed(2)} s`.padStart(7),
        (w / o).toFixed(3).padStart(5),
        `${wait.toFixed(3)} s`.padStart(10),
        pct(wait / w).padStart(11),
      ].join("  "),
    );
  }
  const later = rounds.filter((r) => r > 1);
  const w = sum(later.map((r) => at(ledger, r, "seconds")));
  const o = sum(later.map((r) => at(off, r, "seconds")));
  const wait = sum(later.map((r) => at(ledger, r, "ledgerSeconds")));
  const models = new Set([...ledger, ...off].map((run) => run.finalModel));
  const cpu = ledger.map((run) => run.chainCpuSeconds).filter((x): x is number => x !== undefined);
  lines.push(
    "",
    `Rounds 2 and later (round 1 also holds the sites' start-up): ${w.toFixed(2)} s with the ledger, ` +
      `${o.toFixed(2)} s without: ratio ${(w / o).toFixed(3)} (target ≤ 1.05); waiting on the chain ` +
      `${wait.toFixed(2)} s = ${pct(wait / w)} of those rounds.`,
    `Whole runs (start-up included): ${median(ledger.map((r) => r.seconds)).toFixed(1)} s with the ledger, ` +
      `${median(off.map((r) => r.seconds)).toFixed(1)} s without (medians).`,
    `Chain node: ` +
      (ledger.every((r) => r.chainRequests !== undefined)
        ? `${median(ledger.map((r) => r.chainRequests as number))} JSON-RPC requests per run with the ledger`
        : "request log off in the runs with the ledger (--count-requests counts them)") +
      (cpu.length > 0 ? `, ${median(cpu).toFixed(1)} CPU seconds per run` : "") +
      `; ${sum(off.map((r) => r.chainRequests ?? 0))} requests in all runs without the ledger.`,
    `Final models: ${[...models].join(", ")} (${models.size === 1 ? "identical in every run: the same training" : "DIFFERENT"}).`,
    ...writeLines(ledger, blockTime),
  );
  return lines;
}

async function main(argv: string[]): Promise<void> {
  const command = new Command("npm run bench:round --")
    .description(
      "wall time of federated rounds with and without the ledger (same processes, HTTP and training)",
    )
    .option("--sites <n>", "sites", integer("--sites"), 5)
    .option("--rounds <n>", "rounds", integer("--rounds"), 5)
    .option("--notes <n>", "training notes per site", integer("--notes"), 800)
    .option("--epochs <n>", "local epochs per round", integer("--epochs"), 3)
    .option("--poll-ms <n>", "poll interval of the aggregator and the sites", integer("--poll-ms"), 500)
    .option("--pairs <n>", "runs of each kind, alternating", integer("--pairs"), 2)
    .option(
      "--chain-niceness <n>",
      "nice value of the chain node, -20 to 19 (raising its priority needs root or CAP_SYS_NICE)",
      (value: string) => {
        if (!/^-?[0-9]+$/.test(value.trim()) || Math.abs(Number(value)) > 20 || Number(value) > 19)
          throw new FedledgerError(`--chain-niceness must be a whole number from -20 to 19, got "${value}"`, {
            exitCode: 2,
          });
        return Number(value);
      },
      CHAIN_NICENESS,
    )
    .option(
      "--block-time <s>",
      "seconds between the chain's blocks (default: a block per transaction)",
      integer("--block-time"),
    )
    .addOption(
      new Option("--node <kind>", "chain node (default: FEDLEDGER_CHAIN_NODE, else anvil)").choices(
        CHAIN_NODE_KINDS,
      ),
    )
    .option(
      "--count-requests",
      "keep the chain's request log on in the runs with the ledger, to count requests",
    )
    .option("--out <dir>", "working folder (default: a temporary folder, removed afterwards)")
    .parse(argv, { from: "user" });
  const o = command.opts<{
    sites: number;
    rounds: number;
    notes: number;
    epochs: number;
    pollMs: number;
    pairs: number;
    chainNiceness: number;
    blockTime?: number;
    node?: ChainNodeKind;
    countRequests?: boolean;
    out?: string;
  }>();
  if (o.pairs < 1) throw new FedledgerError("--pairs must be at least 1", { exitCode: 2 });
  const out = path.resolve(o.out ?? path.join(os.tmpdir(), `fedledger-bench-round-${process.pid}`));
  await mkdir(out, { recursive: true });
  const chainLog = createWriteStream(path.join(out, "chain.log"));
  let requests = 0;
  let logging = true;
  if (o.blockTime !== undefined && o.blockTime < 1)
    throw new FedledgerError("--block-time must be at least 1", { exitCode: 2 });
  const embedded = await startEmbeddedChain({
    node: o.node,
    blockTime: o.blockTime,
    niceness: o.chainNiceness,
    onOutput: (line) => {
      chainLog.write(`${line}\n`);
      // The node prints each JSON-RPC method on a line of its own (coloured), e.g. "eth_call".
      if (METHOD_LINE.test(line.replace(ANSI_COLOUR, "").trim())) requests += 1;
    },
  });
  const chain: BenchChain = {
    url: embedded.url,
    pid: embedded.pid,
    requests: () => (logging ? requests : undefined),
    setRequestLog: async (enabled) => {
      await embedded.setRequestLog(enabled);
      logging = enabled;
    },
  };
  process.stdout.write(
    `chain node: ${embedded.node}${o.blockTime ? `, a block every ${o.blockTime} s` : ""}, at nice ` +
      `${embedded.niceness} (asked for ${o.chainNiceness})\n`,
  );
  const sessions: DemoSession[] = [];
  const stop = () =>
    void Promise.all(sessions.map((s) => s.close()))
      .then(() => embedded.stop())
      .then(() => process.exit(130));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const ledgerRuns: RunResult[] = [];
  const offRuns: RunResult[] = [];
  try {
    for (let pair = 1; pair <= o.pairs; pair++) {
      const settings = parseDemoSettings({
        sites: o.sites,
        rounds: o.rounds,
        notesPerSite: o.notes,
        localEpochs: o.epochs,
        pollIntervalMs: o.pollMs,
        commitWindowSeconds: 600,
        skipBaselines: true,
        rpc: chain.url,
        out: path.join(out, `pair-${pair}`, "ledger"),
      });
      const session = await DemoSession.prepare(settings, { stdout: process.stdout });
      sessions.push(session);
      try {
        const off = await writeOffLedgerRun(session, path.join(out, `pair-${pair}`, "off-ledger"));
        const kinds = pair % 2 === 1 ? ["ledger", "off-ledger"] : ["off-ledger", "ledger"];
        for (const kind of kinds) {
          session.note(
            `pair ${pair} of ${o.pairs}: ${settings.sites} sites × ${settings.rounds} rounds, ${kind}`,
          );
          if (kind === "ledger")
            ledgerRuns.push(
              await runOnce(session, kind, session.layout, undefined, chain, o.countRequests === true),
            );
          else offRuns.push(await runOnce(session, kind, off.layout, off, chain, o.countRequests === true));
        }
      } finally {
        await session.close();
      }
    }
    for (const line of report(ledgerRuns, offRuns, o.blockTime)) process.stdout.write(`${line}\n`);
  } finally {
    await embedded.stop();
    chainLog.end();
    if (!o.out) await rm(out, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`error: ${err instanceof FedledgerError ? err.toLine() : String(err)}\n`);
    process.exit(err instanceof FedledgerError ? err.exitCode : 1);
  },
);
