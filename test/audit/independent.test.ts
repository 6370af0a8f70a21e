import { expect } from "chai";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { keccak256, toUtf8Bytes } from "ethers";
import { ethers, network } from "hardhat";
import { makeTempDir, removeTempDir } from "../helpers/cli";
import { buildHistory, type History } from "./fixture";

/*
 * A second, minimal verifier written from docs/verification.md alone: node:crypto for SHA-256, the keccak-256
 * of ethers, Buffer float reads and writes, plain arithmetic, and raw JSON-RPC requests. It imports nothing
 * from node/ or @openzeppelin/merkle-tree (the fixture that builds the chain history does, but the verifier
 * below never touches it). It must reproduce the page's worked example and a real chain's roots and model
 * hashes.
 */

// ---------------------------------------------------------------- the minimal verifier (docs/verification.md)

const sha256 = (bytes: Uint8Array): string => `0x${createHash("sha256").update(bytes).digest("hex")}`;
/** A 0x value as one left-padded 32-byte word, in hex without 0x. */
const word = (value: string): string => value.slice(2).toLowerCase().padStart(64, "0");
const uintWord = (n: bigint): string => n.toString(16).padStart(64, "0");
const words = (data: string): string[] => data.slice(2).match(/.{64}/g) ?? [];
const asUint = (w: string): bigint => BigInt(`0x${w}`);
const asHash = (w: string): string => `0x${w}`;
const selector = (signature: string): string => keccak256(toUtf8Bytes(signature)).slice(0, 10);
const topic = (signature: string): string => keccak256(toUtf8Bytes(signature));

/** Section 1: the FLM1 header; returns the data offset and each float32 tensor's element count. */
function readFlm1(bytes: Buffer): { dataOffset: number; sizes: number[] } {
  if (bytes.subarray(0, 4).toString("latin1") !== "FLM1") throw new Error("not FLM1");
  const count = bytes.readUInt32LE(4);
  let pos = 8;
  let previous: Buffer | undefined;
  const sizes: number[] = [];
  for (let i = 0; i < count; i++) {
    const nameLen = bytes.readUInt16LE(pos);
    const name = bytes.subarray(pos + 2, pos + 2 + nameLen);
    if (previous && Buffer.compare(previous, name) >= 0) throw new Error("names not ascending");
    previous = name;
    pos += 2 + nameLen;
    const dtype = bytes[pos];
    const rank = bytes[pos + 1];
    pos += 2;
    if (dtype !== 1) throw new Error("FedAvg needs float32");
    let size = 1;
    for (let r = 0; r < rank; r++) size *= bytes.readUInt32LE(pos + 4 * r);
    pos += 4 * rank;
    sizes.push(size);
  }
  const dataOffset = Math.ceil(pos / 8) * 8;
  if (bytes.subarray(pos, dataOffset).some((b) => b !== 0)) throw new Error("padding not zero");
  if (dataOffset + 4 * sizes.reduce((a, b) => a + b, 0) !== bytes.length) throw new Error("wrong length");
  return { dataOffset, sizes };
}

/** Section 4: keccak256(keccak256(word(site) ‖ word(updateHash) ‖ word(numSamples))). */
function leaf(site: string, updateHash: string, numSamples: bigint): string {
  return keccak256(keccak256(`0x${word(site)}${word(updateHash)}${uintWord(numSamples)}`));
}

/** Section 5: sorted leaves at the end of the array in reverse order, sorted-pair hashing up to tree[0]. */
function merkleRoot(leaves: string[]): string {
  const sorted = [...leaves].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
  const L = sorted.length;
  const tree: string[] = new Array<string>(2 * L - 1);
  sorted.forEach((l, k) => (tree[2 * L - 2 - k] = l));
  const hashPair = (a: string, b: string) =>
    BigInt(a) <= BigInt(b) ? keccak256(`${a}${b.slice(2)}`) : keccak256(`${b}${a.slice(2)}`);
  for (let i = L - 2; i >= 0; i--) tree[i] = hashPair(tree[2 * i + 1], tree[2 * i + 2]);
  return tree[0];
}

/** Sections 7c and 7d: the median of values sorted ascending (float64 mean of the middle two for an even count). */
function medianOf(sorted: number[]): number {
  const k = sorted.length;
  return k % 2 === 1 ? sorted[(k - 1) / 2] : (sorted[k / 2 - 1] + sorted[k / 2]) / 2;
}

/**
 * Sections 7 to 7e: FedAvg (rule 1), sparse FedAvg (rule 2), median (rule 3), trimmed mean (rule 4),
 * norm-clipped FedAvg (rule 5) and multi-Krum (rule 6) over float32 tensors, float64 arithmetic in ascending
 * site order, one rounding per element.
 */
function aggregate(
  rule: bigint,
  parent: Buffer,
  updates: { site: string; numSamples: bigint; bytes: Buffer }[],
): Buffer {
  if (rule < 1n || rule > 6n) throw new Error(`rule ${rule} is not in the page`);
  const { dataOffset, sizes } = readFlm1(parent);
  const total = sizes.reduce((a, b) => a + b, 0);
  let ordered = [...updates].sort((a, b) => (a.site.toLowerCase() < b.site.toLowerCase() ? -1 : 1));
  for (const u of ordered)
    if (
      !u.bytes.subarray(0, dataOffset).equals(parent.subarray(0, dataOffset)) ||
      u.bytes.length !== parent.length
    )
      throw new Error(`update of ${u.site} has other tensors than the parent`);
  const value = (u: { bytes: Buffer }, j: number) => u.bytes.readFloatLE(dataOffset + 4 * j);
  // Section 7e: keep the K − f sites with the smallest sums of their K − f − 2 smallest squared distances.
  if (rule === 6n && ordered.length >= 3) {
    const f = Math.floor((ordered.length - 3) / 2);
    const dist = (p: { bytes: Buffer }, q: { bytes: Buffer }) => {
      let sum = 0;
      for (let j = 0; j < total; j++) {
        const d = value(p, j) - value(q, j);
        sum = sum + d * d;
      }
      return sum;
    };
    const scores = ordered.map((u) =>
      ordered
        .filter((v) => v !== u)
        .map((v) => dist(u, v))
        .sort((x, y) => x - y)
        .slice(0, ordered.length - f - 2)
        .reduce((a, d) => a + d, 0),
    );
    const keep = ordered
      .map((u, i) => ({ u, score: scores[i], i }))
      .sort((x, y) => x.score - y.score || x.i - y.i)
      .slice(0, ordered.length - f);
    ordered = ordered.filter((u) => keep.some((k) => k.u === u));
  }
  const N = Number(ordered.reduce((a, u) => a + u.numSamples, 0n));
  const K = ordered.length;
  // Section 7d: each site's weight n_i × c_i, with c_i = tau / norm_i above the median norm tau.
  let weights = ordered.map((u) => Number(u.numSamples));
  if (rule === 5n) {
    const norms = ordered.map((u) => {
      let sum = 0;
      for (let j = 0; j < total; j++) sum = sum + value(u, j) * value(u, j);
      return Math.sqrt(sum);
    });
    const tau = medianOf([...norms].sort((a, b) => a - b));
    weights = ordered.map((u, i) => Number(u.numSamples) * (norms[i] > tau ? tau / norms[i] : 1));
  }
  const b = K <= 2 ? 0 : Math.max(1, Math.floor(K / 5));
  const out = Buffer.from(parent);
  for (let j = 0; j < total; j++) {
    const at = dataOffset + 4 * j;
    let step: number;
    if (rule === 3n || rule === 4n) {
      const v = ordered.map((u) => value(u, j)).sort((x, y) => x - y);
      if (rule === 3n) step = medianOf(v);
      else {
        let sum = 0;
        for (let i = b; i < K - b; i++) sum = sum + v[i];
        step = sum / (K - 2 * b);
      }
    } else {
      let S = 0;
      let W = 0;
      ordered.forEach((u, i) => {
        const delta = value(u, j);
        S = S + weights[i] * delta;
        if (delta !== 0) W = W + Number(u.numSamples);
      });
      step = S === 0 ? 0 : S / (rule === 2n ? W : N);
    }
    if (step !== 0) out.writeFloatLE(parent.readFloatLE(at) + step, at);
  }
  return out;
}

/** Commits of a round (the test's histories leave one site's upload out of round 2). */
const roundCommitCount = (commits: Map<number, unknown[]>, round: number) => commits.get(round)?.length ?? 0;

/** A copy of FLM1 update bytes with every float32 value multiplied by `factor` (test data, not the verifier). */
function scaledUpdate(bytes: Uint8Array, factor: number): Uint8Array {
  const out = Buffer.from(bytes);
  const { dataOffset } = readFlm1(out);
  for (let at = dataOffset; at < out.length; at += 4) out.writeFloatLE(out.readFloatLE(at) * factor, at);
  return out;
}

// ---------------------------------------------------------------- the worked example of the page

const EXAMPLE = {
  parentHex:
    "464c4d310200000004006269617301010200000006006b65726e656c0102020000000200000000000000003f000080bf0000803e000000be0000803fcdcccc3d",
  parentHash: "0xdf583b8eb1ecc2fa00fcdfff0381fe455c976c83deb7aa163c2c7fde81267856",
  updates: [
    {
      site: "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955",
      numSamples: 100n,
      hex: "464c4d310200000004006269617301010200000006006b65726e656c010202000000020000000000cdcccc3d00000000000000000000003f000080becdcc4c3e",
      hash: "0xbbbf845898abc1490d78d940d43d93478f3b318fcb9f148b7e4c0c56de9057f0",
      leaf: "0xf4dfe28e75e2f58d5562000d1f74d62864515ec637b4fcf71b1d16f0010cd60c",
    },
    {
      site: "0x976EA74026E726554dB657fA54763abd0C3a0aa9",
      numSamples: 300n,
      hex: "464c4d310200000004006269617301010200000006006b65726e656c010202000000020000000000cdcc4cbe000000000000003e000000000000803ecdccccbd",
      hash: "0xcdcebaf99224dcf730104417176763071e0da6a429ad9bc9e14835375eafbfe7",
      leaf: "0x5618bb09cfd24e374883a420a924b00d67b9f417669bf3cdd261d88456049827",
    },
    {
      site: "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
      numSamples: 50n,
      hex: "464c4d310200000004006269617301010200000006006b65726e656c0102020000000200000000009a99993e000000000000803f000000bf000000009a99993e",
      hash: "0xb59feadff7aa7e967e268c13ddedf5d005cbb8d971ba4200bad74950a53486a7",
      leaf: "0x17f5a41eff34708a009940c5b0dcaba3593b5a8786b99b74d23ac0c89aa8b3d3",
    },
  ],
  firstInner: "0x6828fe9c9c2499bf446dc2914ffbae53cfd89daa5aad0cbe11b5c5b714d4e8ed",
  tree1: "0xedf61f32c4a19cdef88d9f7a0d7fe3a09b1e24cd3f6d5f526247bd0324a1294c",
  root: "0x4eb7b2ebb12229e2580e785cff462988739d3c83e14f95d856b22855188009eb",
  newHex:
    "464c4d310200000004006269617301010200000006006b65726e656c010202000000020000000000832dd83e000080bf398ee33ee4388ebde4388e3f398ee33d",
  newHash: "0x54f78354bfa86e9c2c867be29f26a42d6438141a5087b75a663dbc73032b53cf",
  sparseNewHex:
    "464c4d310200000004006269617301010200000006006b65726e656c010202000000020000000000832dd83e000080bf0000003fabaa2a3d0000903f398ee33d",
  sparseNewHash: "0x25a162668be0c6cbc20c3a95829b2f87e49b961f8059f502282faa3411e5c545",
  medianNewHex:
    "464c4d310200000004006269617301010200000006006b65726e656c0102020000000200000000009a99193f000080bf0000c03e000000be0000803f9a99993e",
  medianNewHash: "0x397e119098aa1a942c24632adb90523b2c3534cf29bf5955f13c4ecba9241765",
  clippedNewHex:
    "464c4d310200000004006269617301010200000006006b65726e656c01020200000002000000000033b4cf3e000080bf304fc73ea5752bbde4388e3ffca8c13d",
  clippedNewHash: "0xd7c17bd48543706aa3d57af3a11d19e3bd411014fdd679f0860bf17c742da005",
};

/** docs/aggregation.md's five-site example of the robust rules (its hashes, and its bytes after the header). */
const ROBUST_EXAMPLE = {
  parent: [1, 2, 0.1, -0, 0.5],
  deltas: [
    [0.5, 0.25, 0.1, 0, 1],
    [1, -0.5, 0.2, 0, 1],
    [0.25, 0.5, -0.1, -0, 1],
    [100, 0.125, 0.3, 0, 2],
    [-1, 0, 0.05, 0, 2],
  ],
  results: new Map<bigint, { data: string; hash: string }>([
    [
      3n,
      {
        data: "0000c03f 00000840 cdcc4c3e 00000080 0000c03f",
        hash: "0x6beb1e71445ff11951cbe8bb8a0d127a96c92aff00f8dd475e78a34ad01f0de4",
      },
    ],
    [
      4n,
      {
        data: "abaaca3f 00000840 dedd5d3e 00000080 abaaea3f",
        hash: "0xa5b5f58149cb8c83407d052a9108224cb1453e1524de9a2e034a05eec4b168ba",
      },
    ],
    [
      5n,
      {
        data: "1282b23f 763b0340 01d7003e 00000080 e6f7ad3f",
        hash: "0x099ab1ba79fbcc8f2c76eaf82e38c974c0360e5e54cce7ff1f74f47802805d01",
      },
    ],
    [
      6n,
      {
        data: "d145573f 175d0440 794a103e 00000080 8c2efa3f",
        hash: "0x0194a05a01c5f6316c0cd53fdb920b5c77728d6c5c0f52712028194e6abef794",
      },
    ],
    [1n, { data: "", hash: "0xdf5063fd8c2cc31e009be3ab768a50e28c14d18efa4c88e7964750793cdfc3a9" }],
  ]),
};

/** A one-tensor FLM1 file: tensor "w", float32, shape [values.length] (section 1). */
function flm1Vector(values: number[]): Buffer {
  const head = Buffer.alloc(24);
  head.write("FLM1", 0, "latin1");
  head.writeUInt32LE(1, 4);
  head.writeUInt16LE(1, 8);
  head.write("w", 10, "latin1");
  head[11] = 1;
  head[12] = 1;
  head.writeUInt32LE(values.length, 13);
  const data = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => data.writeFloatLE(v, 4 * i));
  return Buffer.concat([head, data]);
}

const SIGNATURES = {
  isRecorded: "isRecorded(bytes32)",
  getProvenance: "getProvenance(bytes32)",
  getTask: "getTask(uint256)",
  getRound: "getRound(uint256,uint32)",
  commitLeaf: "commitLeaf(uint256,uint32,address)",
  registry: "registry()",
  TaskCreated: "TaskCreated(uint256,address,bytes32,bytes32,uint16,uint16,uint32,uint16)",
  RoundOpened: "RoundOpened(uint256,uint32,bytes32,uint64)",
  UpdateCommitted: "UpdateCommitted(uint256,uint32,address,bytes32,uint64,bytes32)",
  RoundFinalized: "RoundFinalized(uint256,uint32,bytes32,bytes32,bytes32,uint32,bytes32)",
  RoundAborted: "RoundAborted(uint256,uint32,uint32,uint8)",
  ModelAudited: "ModelAudited(bytes32,address,bool,bytes32)",
  SiteStatusChanged: "SiteStatusChanged(address,uint8,uint8)",
  SiteProposed: "SiteProposed(address,address,string,bytes2,string,bytes32,bytes)",
};
const FUNCTIONS = ["isRecorded", "getProvenance", "getTask", "getRound", "commitLeaf", "registry"] as const;

describe("independent verification from docs/verification.md", function () {
  let doc: string;

  before(async function () {
    doc = await readFile(path.resolve(__dirname, "..", "..", "docs", "verification.md"), "utf8");
  });

  it("reproduces the page's worked example: bytes, hashes, leaves, tree, FedAvg and sparse FedAvg", function () {
    const parent = Buffer.from(EXAMPLE.parentHex, "hex");
    expect(sha256(parent)).to.equal(EXAMPLE.parentHash);
    const inner = keccak256(
      `0x${word(EXAMPLE.updates[0].site)}${word(EXAMPLE.updates[0].hash)}${uintWord(EXAMPLE.updates[0].numSamples)}`,
    );
    expect(inner).to.equal(EXAMPLE.firstInner);
    for (const u of EXAMPLE.updates) {
      expect(sha256(Buffer.from(u.hex, "hex"))).to.equal(u.hash);
      expect(leaf(u.site, u.hash, u.numSamples)).to.equal(u.leaf);
    }
    const [l0, l1, l2] = EXAMPLE.updates.map((u) => u.leaf).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
    expect(keccak256(`${l0}${l1.slice(2)}`)).to.equal(EXAMPLE.tree1);
    expect(keccak256(`${EXAMPLE.tree1}${l2.slice(2)}`)).to.equal(EXAMPLE.root);
    expect(merkleRoot(EXAMPLE.updates.map((u) => u.leaf))).to.equal(EXAMPLE.root);
    const inputs = EXAMPLE.updates.map((u) => ({
      site: u.site,
      numSamples: u.numSamples,
      bytes: Buffer.from(u.hex, "hex"),
    }));
    const result = aggregate(1n, parent, inputs);
    expect(result.toString("hex")).to.equal(EXAMPLE.newHex);
    expect(sha256(result)).to.equal(EXAMPLE.newHash);
    const sparse = aggregate(2n, parent, inputs);
    expect(sparse.toString("hex")).to.equal(EXAMPLE.sparseNewHex);
    expect(sha256(sparse)).to.equal(EXAMPLE.sparseNewHash);
    for (const rule of [3n, 4n]) {
      const median = aggregate(rule, parent, inputs);
      expect(median.toString("hex")).to.equal(EXAMPLE.medianNewHex);
      expect(sha256(median)).to.equal(EXAMPLE.medianNewHash);
    }
    // Section 7e: with three sites multi-Krum keeps all three and is FedAvg.
    expect(aggregate(6n, parent, inputs).toString("hex")).to.equal(EXAMPLE.newHex);
    const clipped = aggregate(5n, parent, inputs);
    expect(clipped.toString("hex")).to.equal(EXAMPLE.clippedNewHex);
    expect(sha256(clipped)).to.equal(EXAMPLE.clippedNewHash);
    // The page states every one of these values.
    for (const value of [
      EXAMPLE.parentHex,
      EXAMPLE.parentHash,
      EXAMPLE.firstInner,
      EXAMPLE.tree1,
      EXAMPLE.root,
      EXAMPLE.newHex,
      EXAMPLE.newHash,
      EXAMPLE.sparseNewHex,
      EXAMPLE.sparseNewHash,
      EXAMPLE.medianNewHex,
      EXAMPLE.medianNewHash,
      EXAMPLE.clippedNewHex,
      EXAMPLE.clippedNewHash,
      ...EXAMPLE.updates.flatMap((u) => [u.hex, u.hash, u.leaf]),
    ])
      expect(doc, value).to.contain(value);
  });

  it("reproduces the five-site example of the robust rules in docs/aggregation.md", async function () {
    const aggregationDoc = await readFile(
      path.resolve(__dirname, "..", "..", "docs", "aggregation.md"),
      "utf8",
    );
    const parent = flm1Vector(ROBUST_EXAMPLE.parent);
    expect(sha256(parent)).to.equal("0x4ba3219adf8891cc207e5fca21ffb21bf0e01d34e7c560edcfc375beea70432a");
    const inputs = ROBUST_EXAMPLE.deltas.map((d, i) => ({
      site: `0x${i + 1}${"0".repeat(38)}${i + 1}`,
      numSamples: BigInt(10 * (i + 1)),
      bytes: flm1Vector(d),
    }));
    for (const [rule, expected] of ROBUST_EXAMPLE.results) {
      const result = aggregate(rule, parent, inputs);
      expect(sha256(result), `rule ${rule}`).to.equal(expected.hash);
      expect(aggregationDoc, `rule ${rule} hash`).to.contain(expected.hash);
      if (expected.data) {
        expect(result.subarray(24).toString("hex")).to.equal(expected.data.replaceAll(" ", ""));
        expect(aggregationDoc, `rule ${rule} bytes`).to.contain(expected.data);
      }
    }
  });

  it("states the right event topics and function selectors", function () {
    for (const name of Object.keys(SIGNATURES) as (keyof typeof SIGNATURES)[]) {
      const signature = SIGNATURES[name];
      expect(doc, signature).to.contain(signature.split("(")[0]);
      const value = (FUNCTIONS as readonly string[]).includes(name) ? selector(signature) : topic(signature);
      expect(doc, `${name} ${value}`).to.contain(value);
    }
  });

  describe("on a real chain, with raw JSON-RPC", function () {
    let fedAvgHistory: History;
    let sparseHistory: History;
    const robustHistories = new Map<bigint, History>();
    let dir: string;

    const rpc = (method: string, params: unknown[]) => network.provider.request({ method, params });
    const call = async (to: string, data: string): Promise<string[]> =>
      words((await rpc("eth_call", [{ to, data }, "latest"])) as string);

    before(async function () {
      const signers = await ethers.getSigners();
      dir = await makeTempDir("fedledger-independent-");
      const options = {
        actors: {
          admin: signers[0],
          aggregator: signers[3],
          auditor: signers[4],
          sites: signers.slice(5, 9),
        },
        rounds: 3,
        seed: 21,
        // In round 2 one site commits but never uploads: the root covers three of the four commits.
        excluded: (round: number) => (round === 2 ? [1] : []),
      };
      fedAvgHistory = await buildHistory({ ...options, storeDir: path.join(dir, "store") });
      sparseHistory = await buildHistory({
        ...options,
        storeDir: path.join(dir, "sparse-store"),
        rule: 2,
        zeroShare: 0.5,
      });
      for (const rule of [3n, 4n, 5n, 6n])
        robustHistories.set(
          rule,
          await buildHistory({
            ...options,
            actors: { ...options.actors, sites: signers.slice(5, 10) },
            storeDir: path.join(dir, `rule-${rule}-store`),
            rule: Number(rule),
            // One site sends a delta 100 times the others' in every round: the rules' clipping and trimming act.
            updateBytes: (_round, site, honest) => (site === 4 ? scaledUpdate(honest, 100) : honest),
          }),
        );
    });

    after(async function () {
      await removeTempDir(dir);
    });

    /** Sections 2 to 7 from the model file back to the genesis; checks the task's rule is `rule`. */
    async function walk(h: History, rule: bigint): Promise<void> {
      const ledger = h.ledgerAddress;
      const file = Buffer.from(h.finalModel.bytes);
      readFlm1(file);
      const modelHash = sha256(file);

      // Section 2: provenance and task.
      expect(
        asUint((await call(ledger, `${selector(SIGNATURES.isRecorded)}${word(modelHash)}`))[0]),
      ).to.equal(1n);
      const prov = await call(ledger, `${selector(SIGNATURES.getProvenance)}${word(modelHash)}`);
      const taskId = asUint(prov[0]);
      const lastRound = Number(asUint(prov[1]));
      const recordedAt = asUint(prov[4]);
      const task = await call(ledger, `${selector(SIGNATURES.getTask)}${uintWord(taskId)}`);
      expect(asUint(task[1])).to.equal(rule);
      const createdAt = asUint(task[6]);
      const genesisHash = asHash(task[8]);

      const logs = async (signature: string) =>
        (await rpc("eth_getLogs", [
          {
            address: ledger,
            fromBlock: `0x${createdAt.toString(16)}`,
            toBlock: `0x${recordedAt.toString(16)}`,
            topics: [topic(signature), `0x${uintWord(taskId)}`],
          },
        ])) as { topics: string[]; data: string }[];
      const finalized = new Map<string, { round: number; parent: string; root: string; included: number }>();
      for (const log of await logs(SIGNATURES.RoundFinalized)) {
        const d = words(log.data);
        finalized.set(log.topics[3], {
          round: Number(BigInt(log.topics[2])),
          parent: asHash(d[0]),
          root: asHash(d[1]),
          included: Number(asUint(d[2])),
        });
      }
      const commits = new Map<number, { site: string; updateHash: string; numSamples: bigint }[]>();
      for (const log of await logs(SIGNATURES.UpdateCommitted)) {
        const d = words(log.data);
        const round = Number(BigInt(log.topics[2]));
        const list = commits.get(round) ?? [];
        list.push({
          site: `0x${log.topics[3].slice(26)}`,
          updateHash: asHash(d[0]),
          numSamples: asUint(d[1]),
        });
        commits.set(round, list);
      }

      // Section 3: walk the parents back to the genesis.
      const steps: { model: string; round: number; parent: string; root: string; included: number }[] = [];
      let current = modelHash;
      while (current !== genesisHash) {
        const f = finalized.get(current);
        if (!f) throw new Error(`no RoundFinalized event records ${current}`);
        steps.unshift({ model: current, ...f });
        current = f.parent;
      }
      expect(steps.map((p) => p.round)).to.deep.equal([1, 2, 3]);
      expect(steps[steps.length - 1].round).to.equal(lastRound);

      // Sections 4 to 7, round by round.
      const fetchObject = async (hash: string): Promise<Buffer | undefined> => {
        try {
          const bytes = await readFile(path.join(h.storeDir, "objects", hash.slice(2)));
          return sha256(bytes) === hash ? bytes : undefined;
        } catch {
          return undefined;
        }
      };
      let parent = (await fetchObject(genesisHash)) as Buffer;
      expect(parent, "genesis in the store").to.not.equal(undefined);
      for (const [i, step] of steps.entries()) {
        const roundCommits = commits.get(step.round) ?? [];
        for (const c of roundCommits) {
          const stored = await call(
            ledger,
            `${selector(SIGNATURES.commitLeaf)}${uintWord(taskId)}${uintWord(BigInt(step.round))}${word(c.site)}`,
          );
          expect(asHash(stored[0])).to.equal(leaf(c.site, c.updateHash, c.numSamples));
        }
        const withBytes: { site: string; updateHash: string; numSamples: bigint; bytes: Buffer }[] = [];
        for (const c of roundCommits) {
          const bytes = await fetchObject(c.updateHash);
          if (bytes) withBytes.push({ ...c, bytes });
        }
        // Section 6: the commits whose bytes the store holds must rebuild the root and the count.
        expect(withBytes).to.have.length(step.included);
        const root = merkleRoot(withBytes.map((c) => leaf(c.site, c.updateHash, c.numSamples)));
        expect(root).to.equal(step.root);
        expect(root).to.equal(h.rounds[i].updatesRoot);
        const model = aggregate(rule, parent, withBytes);
        expect(sha256(model)).to.equal(step.model);
        expect(sha256(model)).to.equal(h.rounds[i].modelHash);
        parent = model;
      }
      expect(steps[1].included).to.equal(roundCommitCount(commits, steps[1].round) - 1);
      expect(sha256(parent)).to.equal(modelHash);
    }

    it("walks from the model file to the genesis and recomputes every root and model", async function () {
      await walk(fedAvgHistory, 1n);
    });

    it("does the same for a sparse FedAvg (rule 2) task with sparse updates", async function () {
      await walk(sparseHistory, 2n);
    });

    for (const rule of [3n, 4n, 5n, 6n])
      it(`does the same for a rule ${rule} task with one site sending a ×100 update`, async function () {
        await walk(robustHistories.get(rule) as History, rule);
      });
  });
});
