import { getAddress, isError, type ErrorDescription, type Interface } from "ethers";
import { FedledgerError } from "../errors";
import { ConsortiumRegistry__factory, TrainingLedger__factory } from "../../typechain-types";
import { ERROR_EXPLANATIONS } from "./errorExplanations";
import { ROUND_STATUSES, SITE_STATUSES, roleName } from "./vocabulary";

/** The contracts an error may come from; only their addresses are read, to tell which one refused. */
export interface ErrorSources {
  registry?: { target: unknown };
  ledger?: { target: unknown };
}

/** One argument of a decoded custom error. */
export interface DecodedErrorArgument {
  name: string;
  type: string;
  /** Human form: enum names, role names, checksummed addresses, decimal numbers. */
  text: string;
  value: unknown;
}

/** A custom error decoded with a contract's ABI. */
export interface DecodedChainError {
  contract: "registry" | "ledger";
  name: string;
  args: DecodedErrorArgument[];
  /** The explanation from ERROR_EXPLANATIONS, or undefined. */
  explanation?: string;
}

interface AbiParam {
  name: string;
  type: string;
  internalType?: string;
}

interface ContractAbi {
  label: "registry" | "ledger";
  iface: Interface;
  errors: Map<string, AbiParam[]>;
}

const ENUMS: Record<string, readonly string[]> = { SiteStatus: SITE_STATUSES, RoundStatus: ROUND_STATUSES };

let abis: ContractAbi[] | undefined;

function contractAbis(): ContractAbi[] {
  if (abis) return abis;
  const build = (label: "registry" | "ledger", abi: readonly unknown[], iface: Interface): ContractAbi => {
    const errors = new Map<string, AbiParam[]>();
    for (const entry of abi as { type: string; name?: string; inputs?: AbiParam[] }[])
      if (entry.type === "error" && entry.name) errors.set(entry.name, entry.inputs ?? []);
    return { label, iface, errors };
  };
  abis = [
    build("registry", ConsortiumRegistry__factory.abi, ConsortiumRegistry__factory.createInterface()),
    build("ledger", TrainingLedger__factory.abi, TrainingLedger__factory.createInterface()),
  ];
  return abis;
}

function formatArgument(param: AbiParam, value: unknown): string {
  const enumName = param.internalType?.startsWith("enum ") ? param.internalType.split(".").pop() : undefined;
  if (enumName && ENUMS[enumName] && typeof value === "bigint")
    return ENUMS[enumName][Number(value)] ?? `${enumName}(${value})`;
  if (param.type === "address" && typeof value === "string") return getAddress(value);
  if (param.type === "bytes32" && typeof value === "string" && /role/i.test(param.name)) {
    const name = roleName(value);
    if (name) return `${name} role`;
  }
  if (typeof value === "string" && param.type === "string") return JSON.stringify(value);
  if (param.type === "bytes2" && typeof value === "string" && /^0x[0-9a-f]{4}$/i.test(value)) {
    const text = Buffer.from(value.slice(2), "hex").toString("latin1");
    return /^[\x20-\x7e]{2}$/.test(text) ? `${value} ("${text}")` : value;
  }
  return String(value);
}

/**
 * Decodes revert data as a custom error of the registry or the ledger (the contract named by `prefer` first).
 * Returns undefined when the data is not a known custom error.
 *
 * @example
 * decodeChainError(err.data)?.name; // "RegistryAlreadyApproved"
 */
export function decodeChainError(
  data: string,
  prefer?: "registry" | "ledger",
): DecodedChainError | undefined {
  const ordered = [...contractAbis()].sort((a, b) => Number(b.label === prefer) - Number(a.label === prefer));
  for (const { label, iface, errors } of ordered) {
    let parsed: ErrorDescription | null = null;
    try {
      parsed = iface.parseError(data);
    } catch {
      parsed = null;
    }
    if (!parsed || !errors.has(parsed.name)) continue;
    const params = errors.get(parsed.name) ?? [];
    const args = params.map((param, i) => ({
      name: param.name,
      type: param.type,
      value: parsed.args[i] as unknown,
      text: formatArgument(param, parsed.args[i]),
    }));
    return { contract: label, name: parsed.name, args, explanation: ERROR_EXPLANATIONS[parsed.name] };
  }
  return undefined;
}

const PANICS: Record<number, string> = {
  0x01: "assertion failed",
  0x11: "arithmetic overflow or underflow",
  0x12: "division by zero",
  0x21: "invalid enum value",
  0x32: "array index out of bounds",
  0x41: "out of memory",
};

/** Finds revert data (a 0x string of at least a 4-byte selector) anywhere in an ethers error. */
function findRevertData(err: unknown, depth = 0): string | undefined {
  if (err === null || typeof err !== "object" || depth > 6) return undefined;
  const record = err as Record<string, unknown>;
  const data = record.data;
  if (typeof data === "string" && /^0x[0-9a-fA-F]{8,}$/.test(data)) return data;
  if (data && typeof data === "object") {
    const nested = findRevertData(data, depth + 1);
    if (nested) return nested;
  }
  for (const key of ["error", "info", "cause", "revert"]) {
    const nested = findRevertData(record[key], depth + 1);
    if (nested) return nested;
  }
  return undefined;
}

function targetOf(err: unknown, sources?: ErrorSources): "registry" | "ledger" | undefined {
  const to = (err as { transaction?: { to?: unknown } } | null)?.transaction?.to;
  if (typeof to !== "string") return undefined;
  const same = (target: unknown) => typeof target === "string" && target.toLowerCase() === to.toLowerCase();
  if (same(sources?.registry?.target)) return "registry";
  if (same(sources?.ledger?.target)) return "ledger";
  return undefined;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

function describeRevert(err: unknown, sources?: ErrorSources): string | undefined {
  const data = findRevertData(err);
  const target = targetOf(err, sources);
  const who = target ?? "the contract";
  const refused = target ? `the ${target} refused` : "the chain refused the call";
  if (data) {
    const decoded = decodeChainError(data, target);
    if (decoded) {
      const args = decoded.args.map((arg) => (arg.name ? `${arg.name} ${arg.text}` : arg.text)).join(", ");
      const head = `the ${decoded.contract} refused: ${decoded.name}(${args})`;
      return decoded.explanation ? `${head}: ${decoded.explanation}` : head;
    }
    const revert = (err as { revert?: { name?: string; args?: unknown[] } }).revert;
    if (revert?.name === "Error") return `${refused}: ${JSON.stringify(String(revert.args?.[0]))}`;
    if (revert?.name === "Panic") {
      const code = Number(revert.args?.[0]);
      return `${who} failed with panic 0x${code.toString(16)} (${PANICS[code] ?? "unknown panic"})`;
    }
    return `${refused} with unknown error data ${data.slice(0, 10)}…`;
  }
  if (isError(err, "CALL_EXCEPTION"))
    return `${refused} without a reason (is the contract deployed at that address, and is there enough gas?)`;
  return undefined;
}

/**
 * Turns an error from ethers into one sentence a user can act on: custom errors of the fedledger contracts are
 * decoded by name with their arguments and explained (e.g. "the registry refused:
 * RegistryAlreadyApproved(admin 0xf39F…, proposalId 0x12…): this admin has already approved; another admin must
 * approve"), and the usual transaction and network failures get a plain explanation.
 *
 * @example
 * try { await registry.approveSite(op); } catch (err) { console.error(describeChainError(err, { registry })); }
 */
export function describeChainError(err: unknown, sources?: ErrorSources): string {
  const revert = describeRevert(err, sources);
  if (revert) return revert;
  if (isError(err, "INSUFFICIENT_FUNDS"))
    return "the signing account cannot pay for gas: fund it or sign with another key";
  if (isError(err, "NONCE_EXPIRED"))
    return "the transaction nonce was already used (another transaction from this account went first): run the command again";
  if (isError(err, "REPLACEMENT_UNDERPRICED"))
    return "a transaction with the same nonce is already pending: wait for it, then run the command again";
  if (isError(err, "TRANSACTION_REPLACED"))
    return "the transaction was replaced by another one from the same account";
  if (isError(err, "TIMEOUT")) return "the chain did not answer in time: check the node behind --rpc";
  if (isError(err, "NETWORK_ERROR") || isError(err, "SERVER_ERROR"))
    return `the chain stopped answering (${oneLine(err.shortMessage)}): check the node behind --rpc`;
  if (isError(err, "BAD_DATA"))
    return `the chain returned data that does not fit the contract's ABI (${oneLine(err.shortMessage)}): is the deployment file for this chain?`;
  const short = (err as { shortMessage?: unknown })?.shortMessage;
  if (typeof short === "string") {
    const inner = (err as { info?: { error?: { message?: unknown } } }).info?.error?.message;
    return oneLine(typeof inner === "string" ? `${short}: ${inner}` : short);
  }
  return oneLine(err instanceof Error ? err.message : String(err));
}

/** Wraps {@link describeChainError} in a FedledgerError (exit code 1), keeping the original as its cause. */
export function toFedledgerError(err: unknown, sources?: ErrorSources): FedledgerError {
  if (err instanceof FedledgerError) return err;
  return new FedledgerError(describeChainError(err, sources), { cause: err });
}
