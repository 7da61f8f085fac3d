// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The lint of one hook module: everything that would stop it, or change
 * what it does, found before a job meets it. Each step is one function in
 * {@linkcode HOOK_LINTS}; a new kind of hook file adds its own step there.
 *
 * @module
 */

import { dirname } from "node:path";
import { findConfig, loadPolicy, PolicyError } from "../sandbox/policy.ts";
import { readPolicyFile } from "../sandbox/policy_file.ts";
import { moduleLinkLeavingRoot } from "../sandbox/module_link.ts";
import { fakeJobEnv } from "../job/slurm_vars.ts";
import { LaunchRefused, planHook } from "../launch/plan.ts";
import { runHook } from "../launch/run.ts";
import { typecheckHook } from "../launch/typecheck.ts";
import type { HookName } from "../types.ts";
import type { Problem } from "./problem.ts";

/** What a lint step knows about the hook it checks. */
export interface HookLint {
  /** The module, absolute. */
  readonly modulePath: string;
  /** The hooks slurm.conf runs it as (each needs its export, or a default). */
  readonly hooks: readonly HookName[];
  /** Why each hook is needed, for the messages (`Prolog=` of slurm.conf). */
  readonly neededBy?: Readonly<Partial<Record<HookName, string>>>;
  /** Filled by the policy step: the policy file, when there is one. */
  configPath?: string;
  /** Set by a step that makes the later ones pointless (no module, a refused policy). */
  stop?: boolean;
}

/** One lint step: the problems it finds. */
export type HookLintStep = (lint: HookLint) => Promise<Problem[]> | Problem[];

/** A PolicyError as a problem: its file, key and fix. */
function policyProblem(e: PolicyError, fallbackFile: string): Problem {
  const file = e.file ?? fallbackFile;
  let text = e.message.startsWith(`${file}: `) ? e.message.slice(file.length + 2) : e.message;
  if (e.key && text.startsWith(`"${e.key}" `)) text = text.slice(e.key.length + 3);
  if (e.fix && text.endsWith(`; ${e.fix}`)) text = text.slice(0, -e.fix.length - 2);
  return { file, key: e.key ?? "policy", problem: text, fix: e.fix ?? "" };
}

/** The module is a readable file. */
function lintModuleFile(lint: HookLint): Problem[] {
  try {
    if (Deno.statSync(lint.modulePath).isFile) {
      Deno.openSync(lint.modulePath).close();
      return [];
    }
  } catch { /* said below */ }
  lint.stop = true;
  return [{
    file: lint.modulePath,
    key: "module",
    problem: "does not exist or cannot be read",
    fix: "fix the path in slurm.conf, or install the module",
  }];
}

/** The policy: found, trusted, every key valid, and each hook's grants usable. */
function lintPolicy(lint: HookLint): Problem[] {
  const problems: Problem[] = [];
  try {
    lint.configPath = findConfig(dirname(lint.modulePath));
    if (lint.configPath) readPolicyFile(lint.configPath);
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
    lint.stop = true;
    return [policyProblem(e, lint.configPath ?? lint.modulePath)];
  }
  for (const hook of lint.hooks) {
    try {
      loadPolicy(lint.modulePath, hook, fakeJobEnv("prolog_slurmd"));
    } catch (e) {
      if (!(e instanceof PolicyError)) throw e;
      lint.stop = true;
      problems.push(policyProblem(e, lint.configPath ?? lint.modulePath));
    }
  }
  const leaving = moduleLinkLeavingRoot(lint.modulePath, lint.configPath);
  if (leaving) {
    lint.stop = true;
    problems.push({ file: lint.modulePath, key: "module", problem: leaving, fix: "" });
  }
  return problems;
}

/** Each hook has its export (or a default). */
async function lintExports(lint: HookLint): Promise<Problem[]> {
  if (lint.stop || lint.hooks.length === 0) return [];
  const decoder = new TextDecoder();
  let stdout = "";
  const status = await runHook({
    modulePath: lint.modulePath,
    hook: lint.hooks[0],
    env: fakeJobEnv("prolog_slurmd"),
    listExports: true,
    timeoutSeconds: 30,
    onStdout: (c) => stdout += decoder.decode(c, { stream: true }),
  });
  if (status !== 0) {
    return [{
      file: lint.modulePath,
      key: "exports",
      problem: `the module could not be loaded to list its exports (status ${status})`,
      fix: "run `prep-deno try` on it to see why",
    }];
  }
  let exports: string[] = [];
  try {
    exports = JSON.parse(stdout.trim().split("\n").pop() ?? "[]");
  } catch { /* none listed */ }
  return lint.hooks.filter((h) => !exports.includes(h) && !exports.includes("default")).map((
    hook,
  ) => ({
    file: lint.modulePath,
    key: "exports",
    problem: `no export "${hook}" and no default export, but ${
      lint.neededBy?.[hook] ?? "it is run as " + hook
    }`,
    fix: `export function ${hook}(job: JobContext) from the module, or a default export`,
  }));
}

/** The module type-checks (in its own view, as before it runs). */
async function lintTypes(lint: HookLint): Promise<Problem[]> {
  if (lint.stop) return [];
  const hook = lint.hooks[0] ?? "prolog";
  let plan;
  try {
    plan = planHook(lint.modulePath, hook);
  } catch (e) {
    if (!(e instanceof LaunchRefused)) throw e;
    return [{ file: lint.modulePath, key: "sandbox", problem: e.message, fix: "" }];
  }
  const policy = loadPolicy(lint.modulePath, hook);
  const report = await typecheckHook(lint.modulePath, policy, plan);
  if (!report.checked) {
    return [{
      file: lint.modulePath,
      key: "types",
      problem: `not checked: ${report.other ?? "unknown"}`,
      fix: "install the deno CLI",
    }];
  }
  const problems: Problem[] = report.errors.map((e) => ({
    file: e.line ? `${e.file}:${e.line}:${e.column}` : e.file,
    key: "types",
    problem: `${e.message} (${e.code})`,
    fix: policy.file?.typecheck === "warn"
      ? 'fix the type error (the policy\'s "typecheck": "warn" runs it anyway)'
      : "fix the type error: the hook does not run until it type-checks",
  }));
  if (report.other) {
    problems.push({ file: lint.modulePath, key: "imports", problem: report.other, fix: "" });
  }
  return problems;
}

/**
 * The steps of a hook's lint, in order. A step may set `stop` to skip the
 * rest (they would only repeat its problem).
 */
export const HOOK_LINTS: HookLintStep[] = [lintModuleFile, lintPolicy, lintExports, lintTypes];

/**
 * Every problem of the module at `modulePath` run as `hooks`.
 *
 * @example
 * ```ts
 * import { problemLine } from "./problem.ts";
 * const problems = await lintHook("/etc/slurm/hooks/site.ts", ["prolog", "epilog"]);
 * for (const p of problems) console.log(problemLine(p));
 * ```
 */
export async function lintHook(
  modulePath: string,
  hooks: readonly HookName[],
  neededBy?: Readonly<Partial<Record<HookName, string>>>,
): Promise<Problem[]> {
  const lint: HookLint = { modulePath, hooks, neededBy };
  const problems: Problem[] = [];
  for (const step of HOOK_LINTS) {
    if (lint.stop) break;
    problems.push(...await step(lint));
  }
  return problems;
}
