import type { Command } from "commander";
import { ZeroHash, id, type ContractTransactionReceipt, type ContractTransactionResponse } from "ethers";
import { FedledgerError, UsageError } from "../../errors";
import {
  roleHolders,
  getSiteInfo,
  listSites,
  siteVotes,
  confirmTransaction,
  receiptEvents,
  SITE_STATUSES,
  siteStatusName,
  siteStatusValue,
} from "../../chain";
import {
  addChainOptions,
  addSignerOptions,
  withSession,
  withSigningSession,
  type ChainFlags,
  type SignerFlags,
  type Session,
  type SigningSession,
} from "./chainOptions";
import {
  parseAddress,
  parseBytes32,
  parseCountry,
  parseHexBytes,
  parseLanguage,
  parseSiteName,
} from "./inputs";
import { printFields, printJson, printLines } from "./output";
import { registerSiteRunCommand } from "./siteRun";

interface WriteOptions extends ChainFlags, SignerFlags {
  json?: boolean;
}

interface ProposeOptions extends WriteOptions {
  name: string;
  country: string;
  language: string;
  metadataHash?: string;
  publicKey?: string;
}

/** What a site vote led to, read from the transaction's events. */
async function reportSiteVote(
  session: SigningSession,
  operator: string,
  receipt: ContractTransactionReceipt,
  json: boolean | undefined,
): Promise<void> {
  const { registry } = session;
  const changed = receiptEvents(receipt, registry, "SiteStatusChanged").find(
    (event) => event.args.operator === operator,
  );
  const vote = receiptEvents(receipt, registry, "SiteApproved").find(
    (event) => event.args.operator === operator,
  );
  const status = siteStatusName(await registry.siteStatus(operator));
  const result = {
    operator,
    status,
    changed: changed !== undefined,
    target: vote ? siteStatusName(vote.args.target as bigint) : undefined,
    approvals: vote ? Number(vote.args.approvals) : undefined,
    quorum: vote ? Number(vote.args.quorum) : undefined,
    transaction: receipt.hash,
    block: receipt.blockNumber,
  };
  if (json) return printJson(result);
  if (changed) printLines(`site ${operator} is now ${status}`);
  else if (vote)
    printLines(
      `approval recorded (${result.approvals} of ${result.quorum}); site ${operator} stays ${status} ` +
        `until ${Number(result.quorum) - Number(result.approvals)} more admin(s) approve ${result.target}`,
    );
  else printLines(`site ${operator} is ${status}`);
}

/** Fails with a one-line error when no site was ever proposed for `operator`. */
async function requireKnownSite(session: Session, operator: string): Promise<void> {
  if ((await session.registry.siteStatus(operator)) === 0n)
    throw new FedledgerError(
      `unknown site ${operator}: no site was ever proposed with this operator address`,
      {
        hint: "Check the address with `fedledger site list`, or propose the site first",
      },
    );
}

function writeCommand(parent: Command, name: string, description: string, example: string): Command {
  const command = parent
    .command(`${name} <operator>`)
    .description(description)
    .option("--json", "print the outcome as JSON")
    .addHelpText("after", `\nExample:\n  ${example}`);
  return addSignerOptions(addChainOptions(command));
}

/** Registers `fedledger site propose|approve|suspend|reinstate|remove|list|show`. */
export function registerSiteCommands(program: Command): void {
  const site = program
    .command("site")
    .description("onboard and manage hospital sites (quorum votes of admins)");

  writeCommand(
    site,
    "propose",
    "propose a new site; counts as the proposer's approval (Active at once when the quorum is 1)",
    "fedledger site propose 0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc --name 'Karolinska' --country SE --language sv --dev-account admin1",
  )
    .requiredOption("--name <name>", "the site's name (1-64 bytes)")
    .requiredOption("--country <CC>", "ISO 3166-1 alpha-2 country code, e.g. SE")
    .requiredOption("--language <bcp47>", "language of the site's clinical notes, e.g. sv")
    .option("--metadata-hash <0x…>", "hash of the site's metadata document kept off the chain")
    .option("--public-key <0x…>", "the site's public key for signed uploads")
    .action(async (operatorArg: string, opts: ProposeOptions) => {
      const operator = parseAddress(operatorArg, "operator");
      const name = parseSiteName(opts.name);
      const country = parseCountry(opts.country);
      const language = parseLanguage(opts.language);
      const metadataHash = opts.metadataHash ? parseBytes32(opts.metadataHash, "--metadata-hash") : ZeroHash;
      const publicKey = opts.publicKey ? parseHexBytes(opts.publicKey, "--public-key") : "0x";
      await withSigningSession(opts, async (session) => {
        const receipt = await confirmTransaction(
          session.registry.proposeSite(operator, name, country, language, metadataHash, publicKey),
        );
        await reportSiteVote(session, operator, receipt, opts.json);
      });
    });

  const votes: [
    string,
    string,
    (session: SigningSession, operator: string) => Promise<ContractTransactionResponse>,
  ][] = [
    [
      "approve",
      "approve a Proposed site; the approval that reaches the quorum makes it Active",
      (s, op) => s.registry.approveSite(op),
    ],
    [
      "reinstate",
      "vote to make a Suspended site Active again (needs the quorum)",
      (s, op) => s.registry.reinstateSite(op),
    ],
    [
      "remove",
      "vote to remove a site for good (needs the quorum; the address cannot return)",
      (s, op) => s.registry.removeSite(op),
    ],
  ];
  for (const [name, description, send] of votes)
    writeCommand(
      site,
      name,
      description,
      `fedledger site ${name} 0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc --dev-account admin2`,
    ).action(async (operatorArg: string, opts: WriteOptions) => {
      const operator = parseAddress(operatorArg, "operator");
      await withSigningSession(opts, async (session) => {
        await requireKnownSite(session, operator);
        const receipt = await confirmTransaction(send(session, operator));
        await reportSiteVote(session, operator, receipt, opts.json);
      });
    });

  writeCommand(
    site,
    "suspend",
    "suspend an Active site at once (one admin is enough); the reason is hashed onto the chain",
    "fedledger site suspend 0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc --reason 'incident 2024-17' --dev-account admin1",
  )
    .requiredOption(
      "--reason <text>",
      "why; only its keccak256 hash goes on the chain, keep the text yourself",
    )
    .action(async (operatorArg: string, opts: WriteOptions & { reason: string }) => {
      const operator = parseAddress(operatorArg, "operator");
      if (opts.reason.trim() === "")
        throw new UsageError("--reason is empty", "Say why the site is suspended");
      const reasonHash = id(opts.reason);
      await withSigningSession(opts, async (session) => {
        await requireKnownSite(session, operator);
        const receipt = await confirmTransaction(session.registry.suspendSite(operator, reasonHash));
        if (!opts.json) printLines(`reason hash ${reasonHash}`);
        await reportSiteVote(session, operator, receipt, opts.json);
      });
    });

  const list = site
    .command("list")
    .description("list every site ever proposed (from SiteProposed events) with its current status")
    .option("--status <status>", `only sites with this status (${SITE_STATUSES.slice(1).join(", ")})`)
    .option("--json", "print the sites as JSON")
    .addHelpText("after", "\nExample:\n  fedledger site list --status Active --json");
  addChainOptions(list).action(async (opts: ChainFlags & { status?: string; json?: boolean }) => {
    const wanted = opts.status === undefined ? undefined : siteStatusValue(opts.status);
    if (opts.status !== undefined && (wanted === undefined || wanted === 0))
      throw new UsageError(
        `unknown site status "${opts.status}"`,
        `Use one of ${SITE_STATUSES.slice(1).join(", ")}`,
      );
    await withSession(opts, async (session) => {
      const sites = (await listSites(session.registry, session.deployment.deployBlock)).filter(
        (info) => wanted === undefined || info.status === SITE_STATUSES[wanted],
      );
      if (opts.json) return printJson(sites);
      if (sites.length === 0) return printLines(opts.status ? `no ${opts.status} sites` : "no sites yet");
      printLines(
        ...sites.map(
          (info) =>
            `${info.operator}  ${info.status.padEnd(9)}  ${info.country}  ${info.language.padEnd(5)}  ${info.name}`,
        ),
      );
    });
  });

  const show = site
    .command("show <operator>")
    .description("show a site's record and the approvals of its pending votes")
    .option("--json", "print as JSON")
    .addHelpText(
      "after",
      "\nExample:\n  fedledger site show 0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc --json",
    );
  addChainOptions(show).action(async (operatorArg: string, opts: ChainFlags & { json?: boolean }) => {
    const operator = parseAddress(operatorArg, "operator");
    await withSession(opts, async (session) => {
      await requireKnownSite(session, operator);
      const info = await getSiteInfo(session.registry, operator);
      const { admin } = await roleHolders(session.registry, session.deployment.deployBlock);
      const pending = await siteVotes(session.registry, info, admin);
      if (opts.json) return printJson({ ...info, pendingVotes: pending });
      printFields([
        ["operator", info.operator],
        ["name", info.name],
        ["status", `${info.status} (since block ${info.changedAtBlock})`],
        ["country", info.country],
        ["language", info.language],
        ["metadata hash", info.metadataHash],
        ["public key", info.publicKey === "0x" ? "(none)" : info.publicKey],
        ...pending.map((vote): [string, string] => [
          `votes to ${vote.target}`,
          `${vote.approvals} of ${vote.quorum}${vote.approvedBy.length ? ` (${vote.approvedBy.join(", ")})` : ""}`,
        ]),
      ]);
    });
  });
  registerSiteRunCommand(site);
}
