/**
 * Chooses the TensorFlow.js backend once per process.
 *
 * Order of preference: `tensorflow` (the native binding @tensorflow/tfjs-node, an optional dependency that
 * cannot install everywhere), then `wasm` (@tensorflow/tfjs-backend-wasm with one thread, so training is
 * deterministic), then `cpu` (pure JavaScript, very slow for the embedding gradient). A caller or the
 * FEDLEDGER_BACKEND environment variable may ask for one by name; asking for one that does not load is an error.
 */
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { FedledgerError, UsageError } from "../errors";

/** Backends fedledger knows how to start, in order of preference. */
export const BACKENDS = ["tensorflow", "wasm", "cpu"] as const;
/** A backend name. */
export type BackendName = (typeof BACKENDS)[number];

let chosen: Promise<BackendName> | undefined;

function isBackendName(x: string): x is BackendName {
  return (BACKENDS as readonly string[]).includes(x);
}

async function tryTensorflow(): Promise<boolean> {
  try {
    // The native binding registers the "tensorflow" backend when it loads. It is optional: a missing
    // package or a missing libtensorflow throws here, and the caller falls back.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require("@tensorflow/tfjs-node");
  } catch {
    return false;
  }
  return tf.setBackend("tensorflow");
}

async function tryWasm(): Promise<boolean> {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const wasm = require("@tensorflow/tfjs-backend-wasm") as typeof import("@tensorflow/tfjs-backend-wasm");
    const dist = path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm"));
    wasm.setWasmPaths(dist + path.sep);
    wasm.setThreadsCount(1);
    return await tf.setBackend("wasm");
  } catch {
    return false;
  }
}

async function tryCpu(): Promise<boolean> {
  return tf.setBackend("cpu");
}

const STARTERS: Record<BackendName, () => Promise<boolean>> = {
  tensorflow: tryTensorflow,
  wasm: tryWasm,
  cpu: tryCpu,
};

async function choose(preferred: string | undefined): Promise<BackendName> {
  // TF.js prints a hint about the native binding on first use of a JavaScript backend; it is noise here.
  tf.env().set("IS_TEST", true);
  if (preferred !== undefined) {
    if (!isBackendName(preferred)) {
      throw new UsageError(
        `unknown backend "${preferred}"`,
        `Use one of ${BACKENDS.join(", ")} (--backend or FEDLEDGER_BACKEND)`,
      );
    }
    if (!(await STARTERS[preferred]())) {
      throw new FedledgerError(`the ${preferred} backend could not be started`, {
        hint:
          preferred === "tensorflow"
            ? "Install @tensorflow/tfjs-node (needs libtensorflow) or choose --backend wasm"
            : "Choose another backend with --backend",
      });
    }
    return preferred;
  }
  for (const name of BACKENDS) {
    if (await STARTERS[name]()) return name;
  }
  throw new FedledgerError("no TensorFlow.js backend could be started", {
    hint: "Reinstall dependencies with npm ci",
  });
}

/**
 * Starts the TensorFlow.js backend (once per process) and returns its name. The first call decides; later
 * calls return the same backend, and fail if they ask for a different one. The choice is logged on stderr
 * once, unless FEDLEDGER_QUIET is set.
 * @param preferred backend name; defaults to the FEDLEDGER_BACKEND environment variable, else automatic.
 * @example const backend = await initBackend(); // "wasm" on a machine without tfjs-node
 */
export async function initBackend(preferred?: string): Promise<BackendName> {
  const want = preferred ?? (process.env.FEDLEDGER_BACKEND || undefined);
  if (chosen === undefined) {
    chosen = choose(want).then((name) => {
      if (!process.env.FEDLEDGER_QUIET) process.stderr.write(`fedledger: TensorFlow.js backend ${name}\n`);
      return name;
    });
    chosen.catch(() => {
      chosen = undefined;
    });
  }
  const name = await chosen;
  if (want !== undefined && want !== name) {
    throw new FedledgerError(`backend ${name} is already running in this process, cannot switch to ${want}`, {
      hint: "Choose the backend once, before training or prediction starts",
    });
  }
  return name;
}
