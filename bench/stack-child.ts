/** One measurement for npm run bench: evaluates the program for a stack of N deployments under mocks. */
import { runOffline } from "../cli/offline";
import { runProgram } from "../stacks/program";
import { PRESET_IDS } from "../stacks/presets";

const count = Number(process.argv[2] ?? "1");
// Distill presets only: a 50-deployment stack of 671B models would exceed any budget, not test speed.
const presets = PRESET_IDS.filter((id) => !["reasoning-r1", "chat-v3", "r1-on-a-budget"].includes(id));
const deployments = Array.from({ length: count }, (_, i) => ({ name: `d${i}`, preset: presets[i % presets.length] }));
const config = {
  "aws:region": "us-east-1",
  "llm-fleet:environment": "staging",
  "llm-fleet:budgetUsdPerMonth": "100000000",
  "llm-fleet:deployments": JSON.stringify(deployments),
};

const start = performance.now();
void runOffline("bench", config, [], runProgram).then((run) => {
  const ms = performance.now() - start;
  console.log(JSON.stringify({ count, ms, resources: run.resources.length, maxRssMB: process.resourceUsage().maxRSS / 1024 }));
});
