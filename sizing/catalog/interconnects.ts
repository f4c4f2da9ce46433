import type { InstanceFamily } from "./ids";
import type { InterconnectKind, InterconnectSpec } from "./schema";

const AICONFIGURATOR = "https://github.com/ai-dynamo/aiconfigurator/tree/main/src/aiconfigurator/systems";
const G5 = "https://aws.amazon.com/ec2/instance-types/g5/";
const G6 = "https://aws.amazon.com/ec2/instance-types/g6/";
const G6E = "https://aws.amazon.com/ec2/instance-types/g6e/";
const G7E = "https://aws.amazon.com/ec2/instance-types/g7e/";
const P4 = "https://aws.amazon.com/ec2/instance-types/p4/";
const P5 = "https://aws.amazon.com/ec2/instance-types/p5/";
const P6 = "https://aws.amazon.com/ec2/instance-types/p6/";

/**
 * The scale-up link between the GPUs of one instance, per family: NVLink through NVSwitch on
 * the p families, PCIe through the host on the g families (AWS instance pages; per-direction
 * GB/s from shared/reference/perf-facts.md "GPU specifications").
 */
export const INTERCONNECTS: { readonly [family in InstanceFamily]: InterconnectSpec } = {
  g5: { kind: "pcie4", gbpsPerDirection: 32, sources: [G5, AICONFIGURATOR] },
  g6: { kind: "pcie4", gbpsPerDirection: 32, sources: [G6, AICONFIGURATOR] },
  g6e: { kind: "pcie4", gbpsPerDirection: 32, sources: [G6E, AICONFIGURATOR] },
  g7e: { kind: "pcie5", gbpsPerDirection: 64, sources: [G7E, AICONFIGURATOR] },
  p4d: { kind: "nvlink3", gbpsPerDirection: 300, sources: [P4, AICONFIGURATOR] },
  p4de: { kind: "nvlink3", gbpsPerDirection: 300, sources: [P4, AICONFIGURATOR] },
  p5: { kind: "nvlink4", gbpsPerDirection: 450, sources: [P5, AICONFIGURATOR] },
  p5e: { kind: "nvlink4", gbpsPerDirection: 450, sources: [P5, AICONFIGURATOR] },
  p5en: { kind: "nvlink4", gbpsPerDirection: 450, sources: [P5, AICONFIGURATOR] },
  "p6-b200": { kind: "nvlink5", gbpsPerDirection: 900, sources: [P6, AICONFIGURATOR] },
  "p6-b300": { kind: "nvlink5", gbpsPerDirection: 900, sources: [P6, AICONFIGURATOR] },
};

/**
 * Whether the family's EFA devices support RDMA read, which `FI_EFA_USE_DEVICE_RDMA=1` asks
 * libfabric to use: the p families do; on g5 (and g6, g6e, g7e, which have no RDMA read either)
 * libfabric aborts when it is set (EC2 EFA docs, "supported instance types", RDMA read column).
 */
export const EFA_RDMA_READ: { readonly [family in InstanceFamily]: boolean } = {
  g5: false,
  g6: false,
  g6e: false,
  g7e: false,
  p4d: true,
  p4de: true,
  p5: true,
  p5e: true,
  p5en: true,
  "p6-b200": true,
  "p6-b300": true,
};
export const EFA_RDMA_READ_SOURCES = ["https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/efa.html"];

/** One measured all-reduce curve: time in microseconds at a number of bf16 elements. */
export interface AllReduceCurve {
  kind: InterconnectKind;
  ranks: number;
  /** [elements, microseconds], ascending by elements. */
  points: readonly (readonly [number, number])[];
  source: string;
}

const AIC_COLLECTIVES = "https://github.com/ai-dynamo/aiconfigurator (per-GPU collective database, perf-facts.md table 4)";

/**
 * Measured all-reduce times (shared/reference/perf-facts.md, "What the measurements agree on" 4:
 * NVIDIA aiconfigurator's per-GPU collective database), NCCL. vLLM's custom all-reduce is
 * faster on NVLink at small sizes (8-18 us on H200 TP 8), but the 70B TP 8 rows of
 * perf-calibration.csv match NCCL's times, so those are what the model uses.
 */
export const ALL_REDUCE_CURVES: readonly AllReduceCurve[] = [
  { kind: "nvlink4", ranks: 8, points: [[65536, 21.4], [262144, 22.4], [1048576, 27.8]], source: AIC_COLLECTIVES },
  { kind: "pcie5", ranks: 8, points: [[65536, 31.5], [262144, 85.7], [1048576, 166.6]], source: AIC_COLLECTIVES },
  { kind: "pcie4", ranks: 8, points: [[65536, 161.2], [262144, 573.3], [1048576, 1153.5]], source: AIC_COLLECTIVES },
  { kind: "pcie4", ranks: 2, points: [[65536, 12.7], [262144, 30.5], [1048576, 76.9]], source: AIC_COLLECTIVES },
];
