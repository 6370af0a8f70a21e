/**
 * Start-up of the site service: everything the config names is read and checked before the first round, cheap
 * local checks first (spec files, note files), then the chain (reachable, right chain id, contracts deployed,
 * the key belongs to an Active site, every task exists with the spec hash of its spec file). Each failure is one
 * FedledgerError that names the field or file and what to do.
 */
import type { BaseWallet, JsonRpcProvider } from "ethers";
import { connectChain } from "../chain/connection";
import { connectContracts } from "../chain/contracts";
import { loadDeployment } from "../chain/deployment";
import { readKeystore } from "../chain/keystore";
import { resolvePassword } from "../chain/password";
import { resolveSigner } from "../chain/signer";
import { FedledgerError, UsageError } from "../errors";
import { initBackend } from "../model/backend";
import { assertProductionNoise } from "../model/dp";
import { readSpecFile } from "../model/files";
import { specHash, type ModelSpec } from "../model/spec";
import { ConsortiumRegistry__factory, TrainingLedger__factory } from "../../typechain-types";
import type { SiteConfig } from "./config";
import { loadSiteNotes } from "./data";
import type { SiteEventHandler } from "./events";
import { OnChainSiteLedger, type SiteLedger } from "./ledgerPort";
import { openOffChainSiteLedger } from "./offChainLedger";
import type { SiteRuntime, SiteTask } from "./runtime";
import { splitNotes } from "./split";
import { SiteState } from "./state";

const STATUS_HINTS: Record<string, string> = {
  None: "Ask the consortium admins to propose and approve this site (`fedledger site propose <address> …`)",
  Proposed: "Wait until enough admins approve it (`fedledger site approve <address>`), then start again",
  Suspended: "Ask the consortium admins to reinstate it (`fedledger site reinstate <address>`)",
  Removed: "A removed site cannot take part again; the consortium must onboard a new key",
};

async function signerFor(
  config: SiteConfig,
  provider: JsonRpcProvider,
  chainId: number,
): Promise<BaseWallet> {
  const s = config.signer;
  if (s.devAccount !== undefined) return resolveSigner({ devAccount: s.devAccount }, provider, chainId);
  const keystore = s.keystore as string;
  if (s.passwordEnv !== undefined) {
    const password = process.env[s.passwordEnv];
    if (!password)
      throw new UsageError(
        `environment variable ${s.passwordEnv} (signer.passwordEnv) is empty or unset`,
        `Export ${s.passwordEnv} with the keystore password, or use signer.passwordFile`,
      );
    return (await readKeystore(keystore, password)).connect(provider);
  }
  const password = await resolvePassword({ passwordFile: s.passwordFile });
  return (await readKeystore(keystore, password)).connect(provider);
}

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

async function connectLedger(config: SiteConfig) {
  const deployment = config.deployment ? await loadDeployment(config.deployment) : undefined;
  const connection = await connectChain({
    rpc: config.rpc ?? deployment?.rpc ?? "",
    chainId: config.chainId ?? deployment?.chainId,
  });
  try {
    const signer = await signerFor(config, connection.provider, connection.chainId);
    if (deployment) {
      const c = await connectContracts({ deployment, connection, signer, deploymentFile: config.deployment });
      return { connection, signer, ledger: c.ledger, registry: c.registry };
    }
    for (const [name, address] of [
      ["ledger", config.ledger as string],
      ["registry", config.registry as string],
    ] as const) {
      if ((await connection.provider.getCode(address)) === "0x")
        throw new UsageError(
          `no contract at the ${name} address ${address} on ${connection.url}`,
          'Check "ledger" and "registry" in the config, or use a deployment file',
        );
    }
    return {
      connection,
      signer,
      ledger: TrainingLedger__factory.connect(config.ledger as string, signer),
      registry: ConsortiumRegistry__factory.connect(config.registry as string, connection.provider),
    };
  } catch (err) {
    connection.provider.destroy();
    throw err;
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
      return { id: t.id, spec: specs[i], aggregator: t.aggregator, roundsPlanned: info.roundsPlanned };
    }),
  );
}

/** Options of {@link startSite}. */
export interface StartSiteOptions {
  emit: SiteEventHandler;
  signal: AbortSignal;
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

  let ledger: SiteLedger;
  let signer: BaseWallet;
  if (config.offLedger) ({ ledger, signer } = await openOffChainSiteLedger(config));
  else {
    const c = await connectLedger(config);
    signer = c.signer;
    const address = await c.ledger.getAddress();
    ledger = new OnChainSiteLedger(
      c.ledger,
      c.registry,
      c.connection.provider,
      c.connection.chainId,
      address,
      signer,
    );
  }
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
    };
  } catch (err) {
    ledger.close();
    throw err;
  }
}
