/**
 * fedledger's chain client layer: start or reach a chain, load a deployment, sign, connect typed contracts
 * (openLedger: the start-up every service shares), read sites, roles and tasks, and explain errors. Services (site, aggregator, auditor, demo) import from here.
 *
 * @example
 * import { connectChain, loadDeployment, deploymentPath, connectContracts } from "../chain";
 * const deployment = await loadDeployment(deploymentPath());
 * const { registry, ledger } = await connectContracts({ deployment });
 */
export {
  startEmbeddedChain,
  chainNodeKind,
  CHAIN_NICENESS,
  CHAIN_NODE_ENV,
  CHAIN_NODE_KINDS,
  CHAIN_STATE_FILE,
  DEFAULT_DEV_ACCOUNTS,
  type ChainNodeKind,
  type EmbeddedChain,
  type StartEmbeddedChainParameters,
} from "./embeddedChain";
export { freePort, isPortFree } from "./freePort";
export { packageRoot } from "./packageRoot";
export {
  connectChain,
  parseRpcUrl,
  DEFAULT_RPC_URL,
  type ChainConnection,
  type ConnectChainParameters,
} from "./connection";
export {
  DEV_MNEMONIC,
  DEV_CHAIN_ID,
  DEV_ACCOUNT_NAMES,
  DEV_SITE_ACCOUNTS,
  devAccountIndex,
  devAccountWallet,
  devAccountAddress,
  isDevChain,
  describeDevAccountNames,
} from "./devAccounts";
export {
  writeKeystore,
  readKeystore,
  parsePrivateKey,
  FAST_KEYSTORE_ENV,
  type WriteKeystoreParameters,
} from "./keystore";
export { resolvePassword, promptHidden, PASSWORD_ENV, type ResolvePasswordParameters } from "./password";
export {
  resolveSigner,
  CONFIG_SIGNER_NAMES,
  FLAG_SIGNER_NAMES,
  type SignerSource,
  type SignerFieldNames,
} from "./signer";
export {
  openLedger,
  ledgerDomain,
  type OpenLedgerParameters,
  type OpenLedgerReturnType,
  type OpenSigningLedgerReturnType,
} from "./openLedger";
export {
  addressSchema,
  checkLedgerSource,
  httpUrlSchema,
  ledgerSourceFields,
  pathSchema,
  resolveLedgerSourcePaths,
  resolveSignerPaths,
  signerConfigSchema,
  taskIdSchema,
  type LedgerSourceConfig,
  type SignerConfig,
} from "./ledgerConfig";
export { sendInFewerTrips } from "./fewerTrips";
export {
  loadDeployment,
  saveDeployment,
  deploymentPath,
  deploymentSchema,
  DEFAULT_DEPLOYMENT_PATH,
  DEPLOYMENT_ENV,
  type Deployment,
} from "./deployment";
export { connectContracts, type ConnectContractsParameters, type FedledgerContracts } from "./contracts";
export { checkDeployment, type CheckDeploymentParameters } from "./checkDeployment";
export { deployFedledger, checkAdminsAndQuorum, type DeployFedledgerParameters } from "./deploy";
export {
  describeChainError,
  decodeChainError,
  toFedledgerError,
  type DecodedChainError,
  type DecodedErrorArgument,
  type ErrorSources,
} from "./describeChainError";
export { ERROR_EXPLANATIONS } from "./errorExplanations";
export {
  confirmTransaction,
  receiptEvents,
  waitForReceipt,
  TransactionDroppedError,
  RECEIPT_POLL_MS,
} from "./transactions";
export { getSiteInfo, listSites, siteVotes, type SiteInfo, type PendingSiteVote } from "./sites";
export { roleHolders, type RoleHolders } from "./roles";
export {
  getTaskInfo,
  getRoundInfo,
  getTaskWithRounds,
  proposeTask,
  approveTask,
  getTaskProposal,
  type TaskInfo,
  type RoundInfo,
  type TaskParameters,
  type TaskProposalInfo,
  type TaskVoteResult,
} from "./tasks";
export * from "./vocabulary";
