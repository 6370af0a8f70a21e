/**
 * Start-up of the site service: everything the config names is read and checked before the first round, cheap
 * local checks first (spec files, note files), then the chain (reachable, right chain id, contracts deployed,
 * the key belongs to an Active site, every task exists with the spec hash of its spec file). Each failure is one
 * FedledgerError that names the field or file and what to do.
 */
import { FedledgerError, UsageError } from "../errors";
import { initBackend } from "../model/backend";
import { assertProductionNoise } from "../model/dp";
import { readSpecFile } from "../model/files";
import { SECURE_RULES } from "../secagg";
import type { SiteStatusName } from "../chain";
import { specHash, type ModelSpec } from "../model/spec";
import type { SiteConfig } from "./config";
import { loadSiteNotes } from "./data";
import type { SiteEventHandler } from "./events";
import type { SiteLedger, SiteLedgerOpener } from "./ledgerPort";
import { openOnChainSiteLedger } from "./onChainLedger";
import type { SiteRuntime, SiteTask } from "./runtime";
import { splitNotes } from "./split";
import { SiteState } from "./state";

const STATUS_HINTS: Partial<Record<SiteStatusName, string>> = {
  None: "Ask the consortium admins to propose and approve this site (`fedledger site propose <address> …`)",
  Proposed: "Wait until enough admins approve it (`fedledger site approve <address>`), then start again",
  Suspended: "Ask the consortium admins to reinstate it (`fedledger site reinstate <address>`)",
  Removed: "A removed site cannot take part again; the consortium must onboard a new key",
};

async function readSpecs(config: SiteConfig): Promise<ModelSpec[]> {
  const specs = await Promise.all(config.tasks.map((t) => readSpecFile(t.modelSpec)));
  specs.forEach((spec, i) => checkDpSpec(config, spec, i));
  return specs;
}

/**
 * A DP task's spec fixes the noisy steps the budget was accounted for, so the config may not change the
 * epochs; and its noise must be the CSPRNG unless the config is a test's (allowTestNoise).
 */
function checkDpSpec(config: SiteConfig, spec: ModelSpec, i: number): void {
  const dp = spec.training.dp;
  if (!dp) return;
  const file = config.tasks[i].modelSpec;
  if (config.training.epochs !== undefined && config.training.epochs !== spec.training.epochs)
    throw new UsageError(
      `training.epochs ${config.training.epochs} differs from the ${spec.training.epochs} epochs of the DP task spec ${file}`,
      "Leave training.epochs out: under DP the task's spec fixes the number of noisy steps its ε budget covers",
    );
  if (!config.allowTestNoise) {
    try {
      assertProductionNoise(spec);
    } catch (err) {
      throw new UsageError(
        `task ${config.tasks[i].id} (${file}): ${(err as Error).message}`,
        'Ask the task creator for a spec with training.dp.noise "csprng"; seeded noise gives no privacy',
      );
    }
  }
}

async function checkTasks(config: SiteConfig, specs: ModelSpec[], ledger: SiteLedger): Promise<SiteTask[]> {
  return Promise.all(
    config.tasks.map(async (t, i) => {
      const info = await ledger.task(t.id);
      if (!info)
        throw new UsageError(
          `task ${t.id} (tasks.${i}.id) does not exist on the ledger`,
          "Check the task id with `fedledger task show <id>`",
        );
      const want = specHash(specs[i]);
      if (want !== info.specHash.toLowerCase())
        throw new UsageError(
          `the model spec ${t.modelSpec} hashes to ${want}, but task ${t.id} was created with spec hash ${info.specHash}`,
          `Point tasks.${i}.modelSpec at the spec file the task was created from`,
        );
      if (specs[i].secureAggregation && !SECURE_RULES.has(info.aggregationRule))
        throw new UsageError(
          `task ${t.id} asks for secure aggregation with rule ${info.aggregationRule}, which cannot run on sums`,
          "Ask the admins for a task with rule 1 (FedAvg) or 2 (sparse FedAvg)",
        );
      return {
        id: t.id,
        spec: specs[i],
        aggregator: t.aggregator,
        roundsPlanned: info.roundsPlanned,
        aggregationRule: info.aggregationRule,
      };
    }),
  );
}

/** Options of {@link startSite}. */
export interface StartSiteOptions {
  emit: SiteEventHandler;
  signal: AbortSignal;
  /** Opens the ledger port (default: the contracts the config names, openOnChainSiteLedger). */
  openLedger?: SiteLedgerOpener;
}

/**
 * Checks a config against the files and the chain and returns the running state. Call `runtime.provider.destroy()`
 * when done.
 *
 * @example
 * const rt = await startSite(await loadSiteConfig("site.json"), { emit: () => {}, signal });
 */
export async function startSite(config: SiteConfig, options: StartSiteOptions): Promise<SiteRuntime> {
  const specs = await readSpecs(config);
  const { notes, skipped } = await loadSiteNotes(config.data, config.skipInvalidNotes);
  const { train, validation } = splitNotes(notes, config.validationShare, config.training.seed);

  const { ledger, signer } = await (options.openLedger ?? openOnChainSiteLedger)(config);
  try {
    const site = await signer.getAddress();
    const status = await ledger.siteStatus(site);
    if (status !== "Active")
      throw new FedledgerError(
        `site ${site} is ${status === "None" ? "not registered" : status} in the registry; only Active sites take part`,
        { hint: STATUS_HINTS[status] ?? "Ask the consortium admins", exitCode: 2 },
      );
    const tasks = await checkTasks(config, specs, ledger);
    const ledgerAddress = ledger.ledgerAddress;
    const state = await SiteState.open(config.stateDir, {
      chainId: ledger.chainId,
      ledger: ledgerAddress,
      site,
    });
    const backend = await initBackend();
    return {
      site,
      signer,
      ledger,
      chainId: ledger.chainId,
      ledgerAddress,
      tasks,
      train,
      validation,
      skippedNotes: skipped,
      training: config.training,
      maxDownloadBytes: config.maxDownloadBytes,
      state,
      backend,
      emit: options.emit,
      signal: options.signal,
      pollIntervalMs: config.pollIntervalMs,
      secureRounds: new Map(),
    };
  } catch (err) {
    ledger.close();
    throw err;
  }
}
