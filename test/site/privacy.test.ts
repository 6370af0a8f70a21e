import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { expect } from "chai";
import type { AggregatorService } from "../../node/aggregator/service";
import { devAccountAddress } from "../../node/chain/devAccounts";
import { LABELS } from "../../node/text/labels";
import type { Note } from "../../node/text/corpus";
import { splitSentences } from "../../node/text/sentences";
import { useEmbeddedChain } from "../helpers/chain";
import { CLI_PATH, makeTempDir, removeTempDir, runCli } from "../helpers/cli";
import {
  createTestTask,
  deployTestLedger,
  startTestAggregator,
  writeNotes,
  type TestLedger,
  type TestTask,
} from "./fixtures";
import { RecordingProxy } from "./proxy";

/** Writes notes as CSV: id, lang, text, then one 0/1 column per label. */
async function writeCsv(file: string, notes: Note[]): Promise<void> {
  const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
  const rows = notes.map((n) =>
    [quote(n.id), n.lang, quote(n.text), ...LABELS.map((l) => (n.labels.includes(l) ? "1" : "0"))].join(","),
  );
  await writeFile(file, `${["id", "lang", "text", ...LABELS].join(",")}\n${rows.join("\n")}\n`);
}

/**
 * Pieces of note text that must never leave the site: whole notes, sentences of 16 characters or more, and
 * words of 10 letters or more, each also in hex (the form calldata would carry).
 */
function secrets(notes: Note[]): string[] {
  const pieces = new Set<string>();
  for (const note of notes) {
    pieces.add(note.text);
    for (const sentence of splitSentences(note.text))
      if (sentence.trim().length >= 16) pieces.add(sentence.trim());
    for (const word of note.text.match(/\p{L}{10,}/gu) ?? []) pieces.add(word);
  }
  const all = [...pieces];
  return [...all, ...all.map((p) => Buffer.from(p, "utf8").toString("hex"))];
}

/** The secrets found in any of the texts (compared case-insensitively). */
function leaks(texts: string[], secretList: string[]): string[] {
  const haystack = texts.join("\n").toLowerCase();
  return secretList.filter((s) => haystack.includes(s.toLowerCase()));
}

/** What a site sent through a proxy, as text, with the base64url metrics header decoded as well. */
function sentTexts(proxy: RecordingProxy): string[] {
  const texts = proxy.sent().map((b) => b.toString("utf8"));
  for (const r of proxy.requests) {
    const metrics = r.headers["x-fedledger-metrics"];
    if (metrics) texts.push(Buffer.from(metrics, "base64url").toString("utf8"));
  }
  return texts;
}

/*
 * The real `fedledger site run` process, talking to a real Hardhat node and a real aggregator through recording
 * proxies: its logs and every byte it sends over HTTP are searched for note text.
 */
describe("site service: the CLI process, privacy of the notes, clean stop", function () {
  const chain = useEmbeddedChain();
  let dir: string;
  let t: TestLedger;
  let task: TestTask;
  let aggregator: AggregatorService;
  let rpcProxy: RecordingProxy;
  let aggregatorProxy: RecordingProxy;
  let notes: Note[];
  let logs: string[] = [];

  async function writeConfig(name: string, taskId: bigint, stateDir: string): Promise<string> {
    const file = path.join(dir, name);
    await writeFile(
      file,
      JSON.stringify({
        signer: { devAccount: "site4" },
        rpc: rpcProxy.url,
        chainId: 31337,
        ledger: t.deployment.ledger,
        registry: t.deployment.registry,
        aggregator: aggregatorProxy.url,
        tasks: [{ id: Number(taskId), modelSpec: "spec.json" }],
        data: ["notes.jsonl", "notes.csv"],
        validationShare: 0.25,
        stateDir,
        pollIntervalMs: 100,
      }),
    );
    return file;
  }

  before(async function () {
    dir = await makeTempDir("fedledger-site-cli-");
    t = await deployTestLedger(chain().url, dir, ["site4"]);
    task = await createTestTask(t, dir, { rounds: 1 });
    aggregator = await startTestAggregator(t, task, path.join(dir, "store"));
    rpcProxy = await RecordingProxy.start(chain().url);
    aggregatorProxy = await RecordingProxy.start(aggregator.url);
    notes = await writeNotes(path.join(dir, "notes.jsonl"), 16, 31, "sv");
    const csvNotes = (await writeNotes(path.join(dir, "scratch.jsonl"), 12, 32, "nb")).map((n) => ({
      ...n,
      id: `csv-${n.id}`,
    }));
    await writeCsv(path.join(dir, "notes.csv"), csvNotes);
    notes.push(...csvNotes);
  });
  after(async function () {
    await aggregatorProxy?.stop();
    await rpcProxy?.stop();
    await aggregator?.stop();
    t?.close();
    await removeTempDir(dir);
  });

  it("the leak detector finds note text in plain and hex form", function () {
    const list = secrets(notes);
    const sentence = splitSentences(notes[0].text).find((s) => s.trim().length >= 16) as string;
    expect(leaks([`x ${sentence} y`], list)).to.not.be.empty;
    expect(leaks([`0x00${Buffer.from(sentence.trim(), "utf8").toString("hex")}00`], list)).to.not.be.empty;
    expect(leaks(["0x1234 eth_call {}"], list)).to.be.empty;
  });

  it("runs a round as a separate process, logging one JSON line per event", async function () {
    const res = await runCli(["site", "run", "--config", await writeConfig("site.json", task.id, "state")], {
      timeoutMs: 110_000,
    });
    expect(res.code, res.stderr).to.equal(0);
    logs = [res.stdout, res.stderr];
    const lines = res.stdout.trim().split("\n");
    const events = lines.map(
      (line) => JSON.parse(line) as { event: string; level: string; [k: string]: unknown },
    );
    const types = events.map((e) => e.event);
    for (const type of ["site_started", "round_seen", "trained", "committed", "uploaded", "task_done"])
      expect(types, type).to.include(type);
    expect(events.at(-1)).to.include({ event: "site_stopped", reason: "done" });
    const started = events[0];
    expect(started).to.include({
      event: "site_started",
      site: devAccountAddress("site4"),
      trainingNotes: 21,
    });
    expect(started.validationNotes).to.equal(7);
    const round = await t.ledger.getRound(task.id, 1);
    expect(round.status).to.equal(2n);
    expect(await t.ledger.hasCommitted(task.id, 1, devAccountAddress("site4"))).to.equal(true);
  });

  it("reads the chain in JSON-RPC batches", function () {
    const bodies = rpcProxy.requests.map((r) => JSON.parse(r.body.toString("utf8")) as unknown);
    const batches = bodies.filter((b): b is unknown[] => Array.isArray(b) && b.length >= 3);
    // Each look at a task (task, current round, site status, latest block) is one request.
    expect(batches.length).to.be.greaterThan(2);
    const calls = bodies.reduce<number>((n, b) => n + (Array.isArray(b) ? b.length : 1), 0);
    expect(rpcProxy.requests.length).to.be.lessThan(calls);
  });

  it("no note text appears in its logs or in anything it sent over HTTP", function () {
    const list = secrets(notes);
    // The site did talk to both: JSON-RPC batches to the chain, model download and upload to the aggregator.
    expect(rpcProxy.requests.length).to.be.greaterThan(5);
    expect(aggregatorProxy.requests.map((r) => r.method)).to.include.members(["GET", "PUT"]);
    const upload = aggregatorProxy.requests.find((r) => r.method === "PUT");
    expect(upload?.body.length).to.be.greaterThan(1000);

    expect(logs.join("").length).to.be.greaterThan(500);
    expect(leaks(logs, list), "in the logs").to.deep.equal([]);
    expect(leaks(sentTexts(rpcProxy), list), "sent to the chain").to.deep.equal([]);
    expect(leaks(sentTexts(aggregatorProxy), list), "sent to the aggregator").to.deep.equal([]);
  });

  it("stops cleanly on SIGTERM while waiting for a round", async function () {
    const idle = await createTestTask(t, dir, { rounds: 1 });
    const config = await writeConfig("idle.json", idle.id, "state-idle");
    const child = spawn(process.execPath, [CLI_PATH, "site", "run", "--config", config], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no waiting_for_round line; stderr: ${stderr}`)),
        60_000,
      );
      child.stdout.on("data", (c: Buffer) => {
        stdout += c.toString("utf8");
        if (stdout.includes('"event":"waiting_for_round"')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.kill("SIGTERM");
    expect(await exited, stderr).to.equal(0);
    const last = JSON.parse(stdout.trim().split("\n").at(-1) as string) as Record<string, unknown>;
    expect(last).to.include({ event: "site_stopped", reason: "signal" });
    expect(leaks([stdout, stderr], secrets(notes))).to.deep.equal([]);
  });
});
