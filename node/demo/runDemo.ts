/**
 * The one-command demo: sets up a consortium of Nordic hospital sites on a chain, runs federated rounds
 * through real aggregator and site processes, scores the federated model next to local-only and centralized
 * baselines, and writes the final model and report.json. See docs/demo.md.
 */
import { FedledgerError } from "../errors";
import type { BaselineReport } from "../model/baselines";
import { dpSteps } from "../privacy/budget";
import { scoreDemo, startBaselineJob, type BaselineJob } from "./evaluation";
import type { DemoSettings } from "./options";
import {
  auditCommand,
  displayPath,
  gapToCentralized,
  reportRounds,
  summaryLines,
  writeReport,
  type DemoReport,
} from "./report";
import { DemoSession, type DemoIo } from "./session";

/** Options of {@link runDemo}. */
export interface RunDemoParameters {
  settings: DemoSettings;
  io: DemoIo;
  /** Aborting stops the run and cleans up (the CLI wires Ctrl-C to it). */
  signal?: AbortSignal;
}

function aborted(signal: AbortSignal | undefined): Promise<never> {
  return new Promise((_, reject) => {
    if (!signal) return;
    const fail = () => reject(new FedledgerError("interrupted", { exitCode: 130 }));
    if (signal.aborted) fail();
    else signal.addEventListener("abort", fail, { once: true });
  });
}

async function runSteps(session: DemoSession): Promise<DemoReport> {
  const { settings } = session;
  let t = Date.now();
  // The baselines train in a worker thread while the federation runs: both keep the two cores busy.
  let job: BaselineJob | undefined;
  if (!settings.skipBaselines) {
    // The baselines are the non-private reference: they train the same spec without DP.
    const { dp: _dp, ...training } = session.spec.training;
    job = startBaselineJob({
      spec: { ...session.spec, training },
      languages: session.languages,
      notesPerSite: settings.notesPerSite,
      testNotesPerLang: settings.testNotesPerLang,
      seed: settings.seed,
      epochs: settings.rounds * settings.localEpochs,
    });
    session.onClose(() => job?.stop());
    session.note(
      `training the baselines in the background: centralized and local-only per language, ` +
        `${settings.rounds * settings.localEpochs} epochs each (rounds × local epochs)`,
    );
  }
  await session.startAggregator();
  session.note(`aggregator listening at ${session.aggregatorUrl} (pid ${session.aggregator?.pid})`);
  for (const site of session.sites) session.startSite(site);
  session.note(`started ${session.sites.length} site processes; following the rounds`);
  const snapshot = await session.follow();
  session.display.close();
  session.timings.federationSeconds = Number(((Date.now() - t) / 1000).toFixed(2));

  const final = await session.saveFinalModel();
  session.note(`saved the final model ${final.hash} to ${displayPath(session.layout.finalModel)}`);

  t = Date.now();
  let baselines: BaselineReport | undefined;
  if (job) {
    session.note("waiting for the baselines");
    baselines = await job.result;
    session.timings.baselinesWaitSeconds = Number(((Date.now() - t) / 1000).toFixed(2));
    session.timings.baselinesTrainingSeconds = Number(
      baselines.models.reduce((sum, m) => sum + m.seconds, 0).toFixed(2),
    );
  }
  t = Date.now();
  const scores = await scoreDemo(final.bytes, baselines, session.spec, session.testSets);
  session.timings.scoringSeconds = Number(((Date.now() - t) / 1000).toFixed(2));
  session.timings.totalSeconds = Number(((Date.now() - session.startedAt) / 1000).toFixed(2));

  const report: DemoReport = {
    createdAt: new Date().toISOString(),
    settings: { ...settings },
    chain: {
      rpc: session.rpc,
      chainId: session.chainId,
      embedded: session.chain !== undefined,
      ...(session.chain?.stateFile
        ? { stateDir: session.layout.chainDir, port: Number(new URL(session.rpc).port) }
        : {}),
      registry: session.deployment.registry,
      ledger: session.deployment.ledger,
    },
    task: {
      id: session.taskId.toString(),
      specHash: (await session.ledger.getTask(session.taskId)).specHash,
      genesisModelHash: (await session.ledger.getTask(session.taskId)).genesisModelHash,
      roundsPlanned: settings.rounds,
      minSitesPerRound: settings.minSites,
      commitWindowSeconds: settings.commitWindowSeconds,
    },
    sites: session.sites.map((s) => ({
      id: s.id,
      name: s.name,
      lang: s.lang,
      country: s.country,
      address: s.address,
      trainingNotes: session.trainingNotes.get(s.id)?.length ?? 0,
    })),
    rounds: reportRounds(await session.chainRounds(), snapshot.rounds),
    finalModel: { hash: final.hash, file: session.layout.finalModel, bytes: final.bytes.length },
    scores,
    gapToCentralizedPoints: gapToCentralized(scores),
    timings: session.timings,
    auditCommand: auditCommand({
      finalModel: session.layout.finalModel,
      rpc: session.rpc,
      deployment: session.layout.deployment,
      store: session.layout.store,
    }),
  };
  const dp = session.spec.training.dp;
  const sites = await session.sitePrivacy();
  if (dp && sites)
    report.privacy = {
      epsilonBudget: dp.epsilonBudget,
      delta: dp.delta,
      noiseMultiplier: dp.noiseMultiplier,
      sampleRate: dp.sampleRate,
      clipNorm: dp.clipNorm,
      stepsPerRound: dpSteps(dp, session.spec.training.epochs, 1),
      sites,
    };
  await writeReport(session.layout.report, report);
  for (const line of summaryLines(report)) session.io.stdout.write(`${line}\n`);
  return report;
}

/**
 * Runs the whole demo and returns the report. Child processes and the embedded chain are stopped when it
 * returns or throws, unless `settings.keepRunning` is set, in which case they stay up until `signal` aborts.
 *
 * @example
 * const report = await runDemo({ settings: parseDemoSettings({}), io: { stdout: process.stdout } });
 */
export async function runDemo(params: RunDemoParameters): Promise<DemoReport> {
  const { settings, io, signal } = params;
  const interrupted = aborted(signal);
  interrupted.catch(() => undefined);
  const session = await Promise.race([DemoSession.prepare(settings, io), interrupted]);
  try {
    const report = await Promise.race([runSteps(session), interrupted]);
    if (settings.keepRunning) {
      io.stdout.write(
        [
          "",
          "Still running (Ctrl-C stops everything):",
          `  chain       ${session.rpc}${session.chain ? ` (pid ${session.chain.pid})` : ""}`,
          `  aggregator  ${session.aggregatorUrl} (pid ${session.aggregator?.pid}); try ${session.aggregatorUrl}/health`,
          ...[...session.siteProcesses.entries()].map(
            ([id, p]) => `  ${id.padEnd(10)}  pid ${p.pid}, log ${displayPath(p.logFile)}`,
          ),
          "",
        ].join("\n"),
      );
      await interrupted.catch(() => undefined);
    }
    return report;
  } finally {
    await session.close();
  }
}
