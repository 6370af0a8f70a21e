/**
 * Sets up the demo consortium on a chain: deploys the contracts with three admins and a quorum of two,
 * onboards every site with the approvals of admin1 and admin2, and by the same quorum grants the aggregator
 * role and creates the training task. Every key is a public dev account, so the chain must be the embedded one
 * (chain id 31337).
 */
import { hexlify, ZeroHash, type JsonRpcProvider, type Wallet, type HDNodeWallet } from "ethers";
import type { ConsortiumRegistry, TrainingLedger } from "../../typechain-types";
import {
  connectContracts,
  deployFedledger,
  type Deployment,
  devAccountWallet,
  devAccountIndex,
  DEFAULT_DEV_ACCOUNTS,
  isDevChain,
  DEV_CHAIN_ID,
  toFedledgerError,
  approveTask,
  proposeTask,
  confirmTransaction,
  AGGREGATION_RULE_IDS,
  ROLES,
} from "../chain";
import { FedledgerError } from "../errors";
import { DEMO_AGGREGATION_RULE } from "./options";
import type { DemoSite } from "./sitePlan";

/** What the task on the chain is created with. */
export interface DemoTaskParameters {
  specHash: string;
  genesisModelHash: string;
  minSitesPerRound: number;
  commitWindowSeconds: number;
  roundsPlanned: number;
  /** The task's rule; {@link DEMO_AGGREGATION_RULE} by default. */
  aggregationRule?: keyof typeof AGGREGATION_RULE_IDS;
}

/** Options of {@link setUpConsortium}. */
export interface SetUpConsortiumParameters {
  /** The chain's JSON-RPC URL (recorded in the deployment). */
  rpc: string;
  provider: JsonRpcProvider;
  chainId: number;
  sites: readonly DemoSite[];
  task: DemoTaskParameters;
  /** Called with a short line after each step, for the progress output. */
  onStep?: (line: string) => void;
}

/** The consortium the demo created. */
export interface DemoConsortium {
  deployment: Deployment;
  registry: ConsortiumRegistry;
  ledger: TrainingLedger;
  taskId: bigint;
  /** Address of the aggregator dev account. */
  aggregator: string;
}

type DevWallet = HDNodeWallet | Wallet;

/** How many accounts of the development mnemonic a chain must fund for these dev account names. */
function fundedAccountsNeeded(names: readonly string[]): number {
  return Math.max(...names.map((name) => (devAccountIndex(name) ?? 0) + 1));
}

async function requireFunds(provider: JsonRpcProvider, names: readonly string[]): Promise<void> {
  const balances = await Promise.all(
    names.map((name) => provider.getBalance(devAccountWallet(name).address)),
  );
  const empty = names.filter((_, i) => balances[i] === 0n);
  if (empty.length > 0)
    throw new FedledgerError(`the dev account(s) ${empty.join(", ")} have no funds on this chain`, {
      hint:
        `The demo needs ${fundedAccountsNeeded(names)} funded accounts from the default development mnemonic: ` +
        `start the chain with \`fedledger chain up\` (${DEFAULT_DEV_ACCOUNTS} accounts), ` +
        `\`anvil --accounts ${fundedAccountsNeeded(names)}\` or \`npx hardhat node\`, or drop --rpc`,
    });
}

async function send<T>(
  what: string,
  sources: { registry?: unknown; ledger?: unknown },
  action: () => Promise<T>,
) {
  try {
    return await action();
  } catch (err) {
    const e = toFedledgerError(err, sources as never);
    throw new FedledgerError(`${what} failed: ${e.message}`, { hint: e.hint, cause: err });
  }
}

/**
 * Deploys and configures a fresh consortium for the demo and returns its contracts and task id.
 *
 * @example
 * const { deployment, taskId } = await setUpConsortium({ rpc, provider, chainId, sites, task });
 */
export async function setUpConsortium(params: SetUpConsortiumParameters): Promise<DemoConsortium> {
  const { provider, chainId, sites } = params;
  const step = params.onStep ?? (() => undefined);
  if (!isDevChain(chainId))
    throw new FedledgerError(
      `the chain at ${params.rpc} has chain id ${chainId}; the demo signs with public dev accounts, allowed only on chain id ${DEV_CHAIN_ID}`,
      { hint: "Drop --rpc to let the demo start its own chain, or point it at `fedledger chain up`" },
    );
  await requireFunds(provider, ["admin1", "admin2", "aggregator", ...sites.map((s) => s.account)]);

  const admin1: DevWallet = devAccountWallet("admin1", provider);
  const admin2: DevWallet = devAccountWallet("admin2", provider);
  const admins = ["admin1", "admin2", "admin3"].map((name) => devAccountWallet(name).address);
  const deployment = await send("deploying the contracts", {}, () =>
    deployFedledger({ signer: admin1, admins, quorum: 2, rpc: params.rpc }),
  );
  step(`deployed registry ${deployment.registry} and ledger ${deployment.ledger} (3 admins, quorum 2)`);

  const asAdmin1 = await connectContracts({
    deployment,
    signer: admin1,
    connection: { url: params.rpc, chainId, provider },
  });
  const registry1 = asAdmin1.registry;
  const registry2 = registry1.connect(admin2);
  const ledger = asAdmin1.ledger;
  const sources = { registry: registry1, ledger };

  for (const site of sites) {
    const publicKey = devAccountWallet(site.account).signingKey.compressedPublicKey;
    const country = hexlify(Buffer.from(site.country, "ascii"));
    await send(`proposing ${site.id}`, sources, () =>
      confirmTransaction(
        registry1.proposeSite(site.address, site.name, country, site.lang, ZeroHash, publicKey),
      ),
    );
    await send(`approving ${site.id}`, sources, () =>
      confirmTransaction(registry2.approveSite(site.address)),
    );
    step(
      `onboarded ${site.id} (${site.countryName}, ${site.lang}) ${site.address}: proposed by admin1, approved by admin2`,
    );
  }

  const aggregator = devAccountWallet("aggregator").address;
  for (const [name, registry] of [
    ["admin1", registry1],
    ["admin2", registry2],
  ] as const)
    await send(`${name}'s vote on the aggregator role`, sources, () =>
      confirmTransaction(registry.voteRole(ROLES.aggregator, aggregator, true)),
    );
  step(`granted the aggregator role to ${aggregator} (votes of admin1 and admin2)`);

  const t = params.task;
  const rule = t.aggregationRule ?? DEMO_AGGREGATION_RULE;
  // Tasks are created by the admin quorum, like every registry change: admin1 proposes, admin2 approves.
  const proposal = await send("proposing the task", sources, () =>
    proposeTask(ledger, {
      specHash: t.specHash,
      genesisModelHash: t.genesisModelHash,
      aggregationRule: AGGREGATION_RULE_IDS[rule],
      minSitesPerRound: t.minSitesPerRound,
      commitWindowSeconds: t.commitWindowSeconds,
      roundsPlanned: t.roundsPlanned,
    }),
  );
  const { taskId } =
    proposal.taskId === undefined
      ? await send("approving the task", sources, () =>
          approveTask(ledger.connect(admin2), proposal.proposalId),
        )
      : proposal;
  if (taskId === undefined) throw new FedledgerError("the task proposal reached no quorum");
  step(
    `created task ${taskId} (proposed by admin1, approved by admin2): ${rule} (rule ${AGGREGATION_RULE_IDS[rule]}), ${t.roundsPlanned} rounds, at least ${t.minSitesPerRound} site(s) per round, ` +
      `${t.commitWindowSeconds} s commit window`,
  );
  return { deployment, registry: registry1, ledger, taskId, aggregator };
}
