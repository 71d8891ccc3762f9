// Load-test bots: scripted virtual players run against a cluster (`switchyard bots`).
export { defineScenario, type Bot, type Scenario } from "./scenario.js";
export { runBots, type BotsRunOptions } from "./runner.js";
export { BotStats, errorCode, type BotsReport, type RouteReport } from "./stats.js";
export { progressPrinter, type ProgressStream } from "./progress.js";
export { formatBotsReport } from "./report-text.js";
export { loadScenario } from "./load-scenario.js";
