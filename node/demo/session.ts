/**
 * One demo run's moving parts, step by step: the output folder, the chain, the consortium and task, the
 * generated data and config files, the aggregator and site processes, and following the rounds until the
 * task is done. `runDemo` chains the steps; the end-to-end tests call them one by one to stop, kill and
 * restart processes in between.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { JsonRpcProvider } from "ethers";
import type { ConsortiumRegistry, TrainingLedger } from "../../typechain-types";
import { fetchModel } from "../aggregator/client";
import {
  connectChain,
  saveDeployment,
  type Deployment,
  startEmbeddedChain,
  chainNodeKind,
  describeChainError,
  type EmbeddedChain,
  freePort,
  getRoundInfo,
  getTaskInfo,
} from "../chain";
import { FedledgerError, UsageError } from "../errors";
import { writeModelFile } from "../model/files";
import { hashModelBytes } from "../model/format";
import { createInitialModel } from "../model/params";
import { defaultSpec, specHash, type ModelSpec } from "../model/spec";
import { planTaskDp, siteEpsilon } from "../privacy/budget";
import type { Lang } from "../text/labels";
import { demoLayout, writeAggregatorConfig, writeSiteConfig, type DemoLayout } from "./configs";
import { setUpConsortium } from "./consortium";
import { siteNotes, testNotes, writeNotes, type DemoNote } from "./data";
import { createProgressDisplay, type ProgressDisplay } from "./display";
import { demoAggregationRule, type DemoSettings } from "./options";
import {
  describeExit,
  parseLogEvent,
  ProcessGroup,
  type ManagedProcess,
  type ProcessExit,
} from "./processes";
import { displayPath } from "./report";
import { RoundTracker, type TrackerSnapshot } from "./roundTracker";
import { planLanguages, planSites, type DemoSite } from "./sitePlan";
import { sleep } from "../sleep";

/** File in an output folder that marks it as the demo's, so a later run may clear it. */
export const DEMO_MARKER = ".fedledger-demo";

/** Output streams of a run. */
export interface DemoIo {
  /** Progress and results; a TTY gets the live table. */
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
}

/** Seconds the aggregator waits after the deadline for an upload whose commit it saw. */
const UPLOAD_GRACE_SECONDS = 10;
/** How often the demo polls the chain and the aggregator while following rounds. */
const FOLLOW_INTERVAL_MS = 250;
/** Output lines of a failed process shown in the error. */
const FAILURE_TAIL_LINES = 8;

async function prepareOutputFolder(out: string): Promise<void> {
  let entries: string[] = [];
  try {
    entries = await readdir(out);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT")
      throw new UsageError(`cannot read the output folder ${out}: ${(err as Error).message}`);
  }
  if (entries.length > 0 && !entries.includes(DEMO_MARKER))
    throw new UsageError(
      `the output folder ${out} is not empty and was not written by the demo`,
      "Pass --out with a new or empty folder (the demo clears only folders it wrote before)",
    );
  await Promise.all(entries.map((entry) => rm(path.join(out, entry), { recursive: true, force: true })));
  await mkdir(out, { recursive: true });
  await writeFile(
    path.join(out, DEMO_MARKER),
    "Written by `npm run demo`; the next run clears this folder.\n",
  );
}

/**
 * The model spec of a demo run: the default spec with the demo's local epochs (and bucket count); with
 * `dpEpsilon`, DP-SGD settings whose σ keeps a site that joins every round within (ε, δ) (the same derivation
 * as `fedledger task create --dp-epsilon`, with its default C and q and CSPRNG noise).
 */
export function demoSpec(settings: DemoSettings): ModelSpec {
  const base = defaultSpec();
  const training = { ...base.training, epochs: settings.localEpochs, lr: settings.learningRate };
  const dp =
    settings.dpEpsilon === undefined
      ? undefined
      : planTaskDp({
          epsilon: settings.dpEpsilon,
          delta: settings.dpDelta,
          rounds: settings.rounds,
          epochs: settings.localEpochs,
        }).dp;
  return defaultSpec({
    features: { ...base.features, ...(settings.buckets ? { buckets: settings.buckets } : {}) },
    training: dp ? { ...training, dp } : training,
    ...(settings.secureAggregation ? { secureAggregation: demoSecureAggregation(settings.sites) } : {}),
  });
}

/**
 * The demo's secure-aggregation parameters: a majority threshold (t = ⌊n/2⌋ + 1, so no minority of sites can
 * rebuild a secret), and 14 fractional bits with values clipped at ±4: room for 32,768 samples in a round, at a
 * resolution far below one local training step.
 */
export function demoSecureAggregation(sites: number): { threshold: number; scaleBits: number; clip: number } {
  return { threshold: Math.max(2, Math.floor(sites / 2) + 1), scaleBits: 14, clip: 4 };
}

/** A demo run in progress. Create it with {@link DemoSession.prepare}; always call {@link close}. */
export class DemoSession {
  readonly layout: DemoLayout;
  readonly sites: DemoSite[];
  readonly languages: Lang[];
  readonly group = new ProcessGroup();
  readonly display: ProgressDisplay;
  readonly startedAt = Date.now();
  /** Wall-clock seconds of each finished phase. */
  readonly timings: Record<string, number> = {};

  spec!: ModelSpec;
  genesis!: Buffer;
  rpc!: string;
  chainId!: number;
  provider!: JsonRpcProvider;
  /** The chain the demo started, when it did not use --rpc. */
  chain?: EmbeddedChain;
  deployment!: Deployment;
  registry!: ConsortiumRegistry;
  ledger!: TrainingLedger;
  taskId!: bigint;
  aggregatorPort!: number;
  /** The notes each site trains on, by site id. */
  readonly trainingNotes = new Map<string, DemoNote[]>();
  /** Held-out notes per language. */
  readonly testSets = new Map<Lang, DemoNote[]>();
  aggregator?: ManagedProcess;
  readonly siteProcesses = new Map<string, ManagedProcess>();
  /** Sites killed on purpose (--drop-site). */
  readonly dropped = new Set<string>();

  private failure: Error | undefined;
  private readonly closers: (() => Promise<void> | void)[] = [];
  private chainLog?: WriteStream;
  private closing?: Promise<void>;

  private constructor(
    readonly settings: DemoSettings,
    readonly io: DemoIo,
  ) {
    this.layout = demoLayout(settings.out);
    this.sites = planSites(settings.sites);
    this.languages = planLanguages(this.sites);
    this.display = createProgressDisplay({
      stream: io.stdout,
      sites: settings.sites,
      roundsPlanned: settings.rounds,
      startedAt: this.startedAt,
    });
    this.group.onUnexpectedExit((proc, exit) => this.onExit(proc, exit));
  }

  /**
   * Clears the output folder, starts (or connects to) the chain, deploys and sets up the consortium and
   * task, generates the data and writes every config. Nothing runs yet but the chain.
   *
   * @example
   * const session = await DemoSession.prepare(parseDemoSettings({ sites: 3 }), { stdout: process.stdout });
   */
  static async prepare(settings: DemoSettings, io: DemoIo): Promise<DemoSession> {
    const session = new DemoSession(settings, io);
    try {
      await session.setUp();
    } catch (err) {
      await session.close();
      throw err;
    }
    return session;
  }

  /** A line on the progress output. */
  note(line: string): void {
    this.display.note(line);
  }

  private phase(name: string, since: number): void {
    this.timings[name] = Number(((Date.now() - since) / 1000).toFixed(2));
  }

  private async setUp(): Promise<void> {
    const s = this.settings;
    await prepareOutputFolder(s.out);
    await mkdir(this.layout.logsDir, { recursive: true });

    let t = Date.now();
    if (s.rpc) {
      const connection = await connectChain({ rpc: s.rpc });
      this.rpc = connection.url;
      this.chainId = connection.chainId;
      this.provider = connection.provider;
      this.note(`using the chain at ${this.rpc} (chain id ${this.chainId})`);
    } else {
      const log = createWriteStream(path.join(this.layout.logsDir, "chain.log"));
      this.chainLog = log;
      const node = chainNodeKind();
      this.chain = await startEmbeddedChain({
        node,
        // anvil keeps the chain in the output folder, so the final model can be audited after the demo.
        dataDir: node === "anvil" ? this.layout.chainDir : undefined,
        onOutput: (line) => log.write(`${line}\n`),
        onStateError: (err) => log.write(`the chain state was not saved: ${err.message}\n`),
      });
      const connection = await connectChain({ rpc: this.chain.url });
      this.rpc = this.chain.url;
      this.chainId = connection.chainId;
      this.provider = connection.provider;
      void this.chain.exited.then((code) => {
        if (!this.closing) this.fail(new FedledgerError(`the embedded chain exited with code ${code}`));
      });
      this.note(`started the embedded chain (${this.chain.node}) at ${this.rpc} (pid ${this.chain.pid})`);
    }
    this.phase("chainStartSeconds", t);

    t = Date.now();
    this.spec = demoSpec(s);
    this.genesis = createInitialModel(this.spec, s.seed);
    await writeModelFile(this.layout.genesis, this.genesis, this.spec);
    await writeFile(this.layout.spec, `${JSON.stringify(this.spec, null, 2)}\n`);
    const dp = this.spec.training.dp;
    if (dp)
      this.note(
        `DP-SGD at every site: ε budget ${dp.epsilonBudget} at δ ${dp.delta} over ${s.rounds} round(s), ` +
          `q ${dp.sampleRate}, C ${dp.clipNorm}, σ ${dp.noiseMultiplier.toFixed(4)} (derived), sample count 1 per update`,
      );
    const consortium = await setUpConsortium({
      rpc: this.rpc,
      provider: this.provider,
      chainId: this.chainId,
      sites: this.sites,
      task: {
        specHash: specHash(this.spec),
        genesisModelHash: hashModelBytes(this.genesis),
        minSitesPerRound: s.minSites,
        commitWindowSeconds: s.commitWindowSeconds,
        roundsPlanned: s.rounds,
        aggregationRule: demoAggregationRule(s),
      },
      onStep: (line) => this.note(line),
    });
    this.deployment = consortium.deployment;
    this.registry = consortium.registry;
    this.ledger = consortium.ledger;
    this.taskId = consortium.taskId;
    await saveDeployment(this.layout.deployment, this.deployment);
    this.phase("consortiumSeconds", t);

    t = Date.now();
    for (const site of this.sites) {
      const notes = siteNotes(site, s.seed, s.notesPerSite);
      this.trainingNotes.set(site.id, notes);
      await writeNotes(this.layout.siteNotes(site), notes);
    }
    for (const [position, lang] of this.languages.entries()) {
      const notes = testNotes(lang, position, s.seed, s.testNotesPerLang);
      this.testSets.set(lang, notes);
      await writeNotes(this.layout.testNotes(lang), notes);
    }
    this.note(
      `generated ${s.notesPerSite} training notes per site into ${displayPath(path.join(s.out, "sites"))}/<site>/ ` +
        `and ${s.testNotesPerLang} held-out notes per language (${this.languages.join(", ")})`,
    );

    this.aggregatorPort = await freePort();
    const common = {
      layout: this.layout,
      rpc: this.rpc,
      chainId: this.chainId,
      taskId: this.taskId,
      aggregatorPort: this.aggregatorPort,
      pollIntervalMs: s.pollIntervalMs,
      uploadGraceSeconds: UPLOAD_GRACE_SECONDS,
      keepRunning: s.keepRunning,
    };
    await writeAggregatorConfig(common);
    for (const site of this.sites) await writeSiteConfig(common, site, s.seed * 1_000 + site.index);
    this.phase("dataAndConfigSeconds", t);
  }

  /** The aggregator's base URL. */
  get aggregatorUrl(): string {
    return `http://127.0.0.1:${this.aggregatorPort}`;
  }

  /** Site addresses (lower case) to display names. */
  siteNames(): Map<string, string> {
    return new Map(this.sites.map((site) => [site.address.toLowerCase(), site.id]));
  }

  private onExit(proc: ManagedProcess, exit: ProcessExit): void {
    // A site that finished its task exits with code 0, and --drop-site's site is killed on purpose; anything
    // else is a failure.
    if (exit.code === 0 && proc.name !== "aggregator") return;
    if (this.dropped.has(proc.name)) return;
    const tail = proc
      .tail(FAILURE_TAIL_LINES)
      .map((line) => `    ${line.length > 200 ? `${line.slice(0, 200)}…` : line}`)
      .join("\n");
    this.fail(
      new FedledgerError(
        `${proc.name} ${describeExit(exit)} (full log: ${displayPath(proc.logFile)})` +
          (tail ? `; its last output lines:\n${tail}` : ""),
      ),
    );
  }

  /** Records the first failure; {@link follow} throws it. */
  fail(err: Error): void {
    this.failure ??= err;
  }

  /** Starts the aggregator process and waits until its HTTP API answers. */
  async startAggregator(): Promise<ManagedProcess> {
    const proc = this.group.start({
      name: "aggregator",
      args: ["aggregator", "run", "--config", this.layout.aggregatorConfig],
      logFile: path.join(this.layout.logsDir, "aggregator.log"),
    });
    this.aggregator = proc;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (this.failure) throw this.failure;
      if (!proc.running()) {
        const exit = await proc.exited;
        const tail = proc.tail(FAILURE_TAIL_LINES).join("\n    ");
        throw new FedledgerError(`the aggregator ${describeExit(exit)} while starting:\n    ${tail}`);
      }
      try {
        const res = await fetch(`${this.aggregatorUrl}/health`, { signal: AbortSignal.timeout(1_000) });
        if (res.ok) return proc;
      } catch {
        // Not listening yet.
      }
      await sleep(200);
    }
    throw new FedledgerError(`the aggregator did not answer at ${this.aggregatorUrl} within 60 s`, {
      hint: `See ${proc.logFile}`,
    });
  }

  /** Starts one site's service process. */
  startSite(site: DemoSite): ManagedProcess {
    const proc = this.group.start({
      name: site.id,
      args: ["site", "run", "--config", this.layout.siteConfig(site)],
      logFile: path.join(this.layout.logsDir, `${site.id}.log`),
    });
    this.siteProcesses.set(site.id, proc);
    const drop = this.settings.dropSite;
    if (drop?.index === site.index) {
      // The event after which the site is at the stage: it advertised (the share stage is next), it shared
      // (the upload is next), or it uploaded (the unmasking answer is next).
      const after = { share: "secagg_advertised", upload: "secagg_shared", unmask: "uploaded" }[drop.stage];
      const off = proc.onLine((line) => {
        if (parseLogEvent(line)?.event !== after || this.dropped.has(site.id)) return;
        this.dropped.add(site.id);
        off();
        proc.kill("SIGKILL");
        this.note(`--drop-site: killed ${site.id} at the ${drop.stage} stage (after its ${after} event)`);
      });
    }
    return proc;
  }

  /**
   * Follows the rounds on the chain and at the aggregator, showing progress, until `until` holds (by default:
   * every planned round is closed). Throws the first failure of a process, or when nothing changes for
   * longer than a commit window plus two minutes.
   */
  async follow(until: (snapshot: TrackerSnapshot) => boolean = (s) => s.done): Promise<TrackerSnapshot> {
    const tracker = new RoundTracker({
      ledger: this.ledger,
      provider: this.provider,
      taskId: this.taskId,
      roundsPlanned: this.settings.rounds,
      aggregatorUrl: this.aggregatorUrl,
      fromBlock: this.deployment.deployBlock,
      siteNames: this.siteNames(),
    });
    const stallMs = (this.settings.commitWindowSeconds + 120) * 1000;
    let lastChange = Date.now();
    let pollError: string | undefined;
    for (;;) {
      if (this.failure) throw this.failure;
      let changes: string[] = [];
      try {
        changes = await tracker.poll();
        pollError = undefined;
      } catch (err) {
        // The chain node may be restarting: the services ride that out, and so does the demo, until the stall
        // limit below.
        if (pollError === undefined)
          this.note(`cannot read the chain (${describeChainError(err)}); trying again`);
        pollError = describeChainError(err);
      }
      const snapshot = tracker.snapshot();
      this.display.update(snapshot, changes);
      if (changes.length > 0) lastChange = Date.now();
      if (until(snapshot)) return snapshot;
      if (Date.now() - lastChange > stallMs) {
        const tails = this.group
          .list()
          .map((p) => `    ${p.name}: ${(p.tail(1)[0] ?? "").slice(0, 200)}`)
          .join("\n");
        throw new FedledgerError(
          `no progress for ${Math.round(stallMs / 1000)} s (logs: ${displayPath(this.layout.logsDir)}` +
            `${pollError ? `; last chain error: ${pollError}` : ""}); ` +
            `last output of each process:\n${tails}`,
        );
      }
      await sleep(FOLLOW_INTERVAL_MS);
    }
  }

  /**
   * Reads the task's latest model from the chain, downloads it from the aggregator (hash-checked) and writes it
   * with its spec as final-model.flm. Throws when no round was finalised.
   */
  async saveFinalModel(): Promise<{ hash: string; bytes: Buffer }> {
    const task = await getTaskInfo(this.ledger, this.taskId);
    const hash = task.latestModelHash.toLowerCase();
    if (hash === task.genesisModelHash.toLowerCase())
      throw new FedledgerError("no round was finalised, so there is no federated model", {
        hint: `See the round table above and the logs in ${this.layout.logsDir}`,
      });
    const bytes = await fetchModel(this.aggregatorUrl, hash);
    await writeModelFile(this.layout.finalModel, bytes, this.spec);
    return { hash, bytes };
  }

  /**
   * Under DP, each site's privacy spend from the chain: the rounds it committed an update in and their ε
   * (as the site and the auditor count it); undefined when the task trains without DP.
   */
  async sitePrivacy(): Promise<
    { id: string; address: string; roundsJoined: number; epsilon: number }[] | undefined
  > {
    const dp = this.spec.training.dp;
    if (!dp) return undefined;
    const task = await getTaskInfo(this.ledger, this.taskId);
    return Promise.all(
      this.sites.map(async (site) => {
        const joined = await Promise.all(
          Array.from({ length: task.currentRound }, (_, i) =>
            this.ledger.hasCommitted(this.taskId, i + 1, site.address),
          ),
        );
        const roundsJoined = joined.filter(Boolean).length;
        return {
          id: site.id,
          address: site.address,
          roundsJoined,
          epsilon: siteEpsilon(dp, this.spec.training.epochs, roundsJoined),
        };
      }),
    );
  }

  /** The round records on the chain (for the report), 1 … current round. */
  async chainRounds() {
    const task = await getTaskInfo(this.ledger, this.taskId);
    return Promise.all(
      Array.from({ length: task.currentRound }, (_, i) => getRoundInfo(this.ledger, this.taskId, i + 1)),
    );
  }

  /** Registers work to stop when the session closes (before the processes and the chain). */
  onClose(stop: () => Promise<void> | void): void {
    this.closers.push(stop);
  }

  /** Stops every process and the chain the demo started. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.display.close();
      await Promise.all(this.closers.map((stop) => stop()));
      await this.group.stopAll();
      this.provider?.destroy();
      await this.chain?.stop();
      await new Promise<void>((resolve) => (this.chainLog ? this.chainLog.end(resolve) : resolve()));
    })();
    return this.closing;
  }
}
