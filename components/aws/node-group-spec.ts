/**
 * What a GPU node group is, decided from its arguments and the sizing catalog: pure
 * functions with no Pulumi import, so every decision is tested without mocks. The
 * GpuNodeGroup component only turns a NodeGroupSpec into resources.
 */
import {
  CAPACITY_TYPES,
  GIB,
  HOURS_PER_MONTH,
  INSTANCES,
  INSTANCE_TYPES,
  offeringProblem,
  priceQuote,
  unknownIdMessage,
  type CapacityType,
  type GpuId,
  type InputProblem,
  type InstanceType,
  type PriceBasis,
  type PriceOverride,
} from "../../sizing";
import { NODE_MANAGED_POLICIES, SSM_MANAGED_POLICY } from "./iam";
import { al2023UserData, bottlerocketUserData } from "./user-data";

export const AmiFamily = {
  /** The AL2023 NVIDIA AMI; needs the NVIDIA device plugin. */
  Al2023: "al2023",
  /** Bottlerocket NVIDIA, device plugin included. */
  Bottlerocket: "bottlerocket",
} as const;
export type AmiFamily = (typeof AmiFamily)[keyof typeof AmiFamily];
export const AMI_FAMILIES: readonly AmiFamily[] = Object.values(AmiFamily);

/** EKS AMI types with the NVIDIA driver. AL2023 needs the NVIDIA device plugin; Bottlerocket ships it. */
export const AMI_TYPES: { readonly [family in AmiFamily]: string } = {
  al2023: "AL2023_x86_64_NVIDIA",
  bottlerocket: "BOTTLEROCKET_x86_64_NVIDIA",
};

/** A Capacity Block's start and end, ISO 8601: its reservation's StartDate and EndDate. */
export interface CapacityBlockWindow {
  /**
   * When the block starts, e.g. `2026-12-08T11:30:00Z`.
   */
  startsAt: string;
  /**
   * When it ends; the nodes go 30 minutes before.
   */
  endsAt: string;
}

/** EKS node group capacity types (https://docs.aws.amazon.com/eks/latest/APIReference/API_Nodegroup.html). */
export const EKS_CAPACITY_TYPES: { readonly [c in CapacityType]: "ON_DEMAND" | "SPOT" | "CAPACITY_BLOCK" } = {
  "on-demand": "ON_DEMAND",
  spot: "SPOT",
  "capacity-block": "CAPACITY_BLOCK",
};

/** The taint that keeps everything but GPU workloads off the nodes. */
export const GPU_TAINT = { key: "nvidia.com/gpu", value: "true", effect: "NoSchedule" } as const;

/** Label keys llm-fleet puts on its nodes. */
export const NODE_LABELS = {
  nodeGroup: "llm-fleet.dev/node-group",
  model: "llm-fleet.dev/model",
  gpu: "llm-fleet.dev/gpu",
} as const;

/** How cluster add-ons find GPU nodes: they tolerate the taint and follow the GPU label. */
export const GPU_NODE_MARKS = { taint: { key: GPU_TAINT.key, effect: GPU_TAINT.effect }, labelKey: NODE_LABELS.gpu } as const;

/**
 * Root volume space for the OS, the vLLM image (about 20 GB unpacked) and logs, before any
 * weights. Weights go to instance-store NVMe when it holds them with WEIGHTS_HEADROOM to
 * spare; otherwise the root volume carries them too.
 */
export const ROOT_BASE_GIB = 100;
/** Room for a download beside a cached copy, and for the safetensors index and tokenizer files. */
export const WEIGHTS_HEADROOM = 1.2;

/**
 * gp3's ceiling, for a root volume that carries the weights: at the 125 MiB/s default a
 * 276 GB checkpoint takes 35 minutes to read, at 1000 MiB/s about 4
 * (https://docs.aws.amazon.com/ebs/latest/userguide/general-purpose.html).
 */
export const GP3_MAX = { throughputMiBps: 1000, iops: 16000 } as const;

/** Bottlerocket's OS volume (`/dev/xvda`); its data volume (`/dev/xvdb`) holds images and pods. */
export const BOTTLEROCKET_OS_VOLUME_GIB = 4;

export interface NodeGroupSpecInput {
  /** Name of the component, used in labels. */
  name: string;
  /**
   * The `llm-fleet.dev/node-group` label's value, which the pods select: an on-demand fallback
   * group carries its Spot primary's, so the same pods land on either. @default name
   */
  selectorName?: string | undefined;
  instanceType: string;
  region: string;
  capacityType: CapacityType;
  scaling: { minSize: number; desiredSize: number; maxSize: number };
  /** EFA network interfaces; by default on when a replica spans nodes and the instance type has EFA. */
  efa?: boolean | undefined;
  /** Nodes one vLLM replica spans: above 1, NCCL crosses nodes and wants EFA. */
  nodesPerReplica: number;
  /** On-demand Capacity Reservation or Capacity Block to launch into. */
  capacityReservationId?: string | undefined;
  /** A Capacity Block's start and end (ISO 8601, from its reservation's StartDate and EndDate). */
  capacityBlockWindow?: CapacityBlockWindow | undefined;
  /** The time the schedule is made at, in ms since the epoch. @default Date.now() */
  now?: number | undefined;
  /** The one availability zone for EFA, placement groups and Capacity Blocks. */
  availabilityZone?: string | undefined;
  amiFamily: AmiFamily;
  /** Size of the checkpoint the nodes serve, for the weights cache. */
  checkpointSizeGB: number;
  /** Model id for the node labels. */
  model: string;
  /** Attach AmazonSSMManagedInstanceCore for Session Manager access. */
  ssm: boolean;
  priceOverrides: readonly PriceOverride[];
}

/** One scheduled action on a node group's Auto Scaling group. */
export interface ScheduledScaling {
  name: "block-start" | "block-end";
  /** ISO 8601, UTC. */
  startTime: string;
  minSize: number;
  desiredCapacity: number;
  maxSize: number;
}

/**
 * AWS's guidance for a Capacity Block in a managed node group: create it at 0, scale up when
 * the block starts, and down to 0 at least 30 minutes before it ends, when EC2 starts to
 * reclaim the instances (https://docs.aws.amazon.com/eks/latest/userguide/capacity-blocks-mng.html).
 */
export const CAPACITY_BLOCK_END_MARGIN_MINUTES = 30;

/**
 * The scheduled actions of a block, made at `now`: EC2 refuses an action in the past, so a
 * block that is already running gets only its end (and its group starts at full size).
 */
export function capacityBlockSchedule(window: CapacityBlockWindow, nodes: number, now: number): ScheduledScaling[] {
  const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
  const start = Date.parse(window.startsAt);
  const end = Date.parse(window.endsAt) - CAPACITY_BLOCK_END_MARGIN_MINUTES * 60_000;
  return [
    ...(start > now ? [{ name: "block-start" as const, startTime: iso(start), minSize: 0, desiredCapacity: nodes, maxSize: nodes }] : []),
    { name: "block-end", startTime: iso(end), minSize: 0, desiredCapacity: 0, maxSize: nodes },
  ];
}

export interface NetworkInterfaceSpec {
  networkCardIndex: number;
  deviceIndex: number;
  interfaceType: "efa" | "efa-only";
}

export interface BlockDeviceSpec {
  deviceName: string;
  volumeSizeGiB: number;
  /** Set when the volume carries the weights. */
  throughputMiBps?: number;
  iops?: number;
}

export interface NodeGroupCost {
  usdPerHourPerNode: number;
  basis: PriceBasis;
  asOf: string;
  desired: { usdPerHour: number; usdPerMonth: number };
  max: { usdPerHour: number; usdPerMonth: number };
}

export interface NodeGroupSpec {
  instanceType: InstanceType;
  gpu: GpuId;
  gpusPerNode: number;
  amiType: string;
  capacityType: "ON_DEMAND" | "SPOT" | "CAPACITY_BLOCK";
  /** What the node group is created with: 0 nodes for a Capacity Block, which its schedule scales. */
  scaling: { minSize: number; desiredSize: number; maxSize: number };
  /** Scheduled actions on the group's Auto Scaling group; empty unless a Capacity Block. */
  schedule: ScheduledScaling[];
  /** A Capacity Block that has not started: no node exists until it does, so nothing can wait for pods. */
  startsLater: boolean;
  efa: boolean;
  /** One per network card: the first carries IP traffic too, the rest are EFA-only. */
  networkInterfaces: NetworkInterfaceSpec[];
  placementGroup: boolean;
  /** The AZ to narrow subnets to; "first" picks the first AZ of the cluster's subnets. */
  availabilityZone: string | "first" | null;
  /** Volumes of the launch template: the root (or Bottlerocket's OS and data volumes), encrypted gp3. */
  blockDevices: BlockDeviceSpec[];
  /** Weights cached on striped instance-store NVMe; otherwise on the root (data) volume. */
  weightsOnInstanceStore: boolean;
  userData: string;
  metadataOptions: { httpEndpoint: "enabled"; httpTokens: "required"; httpPutResponseHopLimit: number };
  capacityReservationId: string | null;
  /** `capacity-block` for a Capacity Block; null otherwise. */
  marketType: "capacity-block" | null;
  labels: Record<string, string>;
  taints: { key: string; value: string; effect: "NO_SCHEDULE" }[];
  nodeSelector: Record<string, string>;
  tolerations: { key: string; operator: "Equal"; value: string; effect: "NoSchedule" }[];
  managedPolicies: string[];
  /** Null when no price is known (a Capacity Block without an override). */
  cost: NodeGroupCost | null;
  costProblem: string | null;
}

/**
 * IMDSv2 only, one hop: the node itself reaches instance metadata, a pod in its own
 * network namespace (one more hop) cannot, so pods never see the node role's
 * credentials (https://docs.aws.amazon.com/eks/latest/best-practices/identity-and-access-management.html).
 */
export const METADATA_OPTIONS = { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 } as const;

/** Kubernetes label values: 63 characters of [A-Za-z0-9_.-], alphanumeric at both ends. */
const LABEL_VALUE = /^([A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?)?$/;
const RESERVATION_ID = /^cr-[0-9a-f]{8,17}$/;

/** Root volume size: the base, plus the weights when the instance store cannot hold them. */
export function rootVolumeGiB(instanceType: InstanceType, checkpointSizeGB: number): { rootVolumeGiB: number; weightsOnInstanceStore: boolean } {
  const weightsOnInstanceStore = INSTANCES[instanceType].localNvmeGB >= checkpointSizeGB * WEIGHTS_HEADROOM;
  const weightsGiB = Math.ceil((checkpointSizeGB * 1e9 * WEIGHTS_HEADROOM) / GIB);
  return { rootVolumeGiB: ROOT_BASE_GIB + (weightsOnInstanceStore ? 0 : weightsGiB), weightsOnInstanceStore };
}

/**
 * One interface per EFA network card: card 0 carries an EFA with IP traffic ("efa"), the
 * others are EFA-only at device index 0
 * (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/efa-acc-inst-types.html).
 */
export function efaNetworkInterfaces(count: number): NetworkInterfaceSpec[] {
  return Array.from({ length: count }, (_, card) => ({
    networkCardIndex: card,
    deviceIndex: 0,
    interfaceType: card === 0 ? "efa" : "efa-only",
  }));
}

function scalingProblems(scaling: NodeGroupSpecInput["scaling"]): InputProblem[] {
  const problems: InputProblem[] = [];
  const { minSize, desiredSize, maxSize } = scaling;
  for (const [key, value] of Object.entries(scaling)) {
    if (!Number.isInteger(value) || value < 0) {
      problems.push({ path: `scaling.${key}`, message: `${value} is not a whole number of nodes >= 0` });
    }
  }
  if (problems.length > 0) return problems;
  if (maxSize < 1) problems.push({ path: "scaling.maxSize", message: `${maxSize} allows no node; set maxSize to 1 or more` });
  if (minSize > desiredSize) {
    problems.push({ path: "scaling.minSize", message: `minSize ${minSize} is above desiredSize ${desiredSize}; lower minSize or raise desiredSize` });
  }
  if (desiredSize > maxSize) {
    problems.push({ path: "scaling.desiredSize", message: `desiredSize ${desiredSize} is above maxSize ${maxSize}; raise maxSize or lower desiredSize` });
  }
  return problems;
}

/** Every problem with the arguments, each with its property path and the fix; empty when they are valid. */
export function nodeGroupProblems(input: NodeGroupSpecInput): InputProblem[] {
  const problems: InputProblem[] = [];
  const known = (INSTANCE_TYPES as readonly string[]).includes(input.instanceType);
  if (!known) {
    problems.push({ path: "instanceType", message: unknownIdMessage("instance type", input.instanceType, INSTANCE_TYPES) });
  }
  if (!(CAPACITY_TYPES as readonly string[]).includes(input.capacityType)) {
    problems.push({ path: "capacityType", message: unknownIdMessage("capacity type", input.capacityType, CAPACITY_TYPES) });
  }
  if (!(AMI_FAMILIES as readonly string[]).includes(input.amiFamily)) {
    problems.push({ path: "amiFamily", message: unknownIdMessage("AMI family", input.amiFamily, AMI_FAMILIES) });
  }
  problems.push(...scalingProblems(input.scaling));
  if (!Number.isInteger(input.nodesPerReplica) || input.nodesPerReplica < 1) {
    problems.push({ path: "nodesPerReplica", message: `${input.nodesPerReplica} is not a whole number of nodes >= 1` });
  }
  if (!(input.checkpointSizeGB > 0)) {
    problems.push({ path: "checkpointSizeGB", message: `${input.checkpointSizeGB} is not a positive size in GB` });
  }
  if (!LABEL_VALUE.test(input.model)) {
    problems.push({ path: "model", message: `"${input.model}" is not a Kubernetes label value (63 characters of letters, digits, "-", "_", ".")` });
  }
  if (!LABEL_VALUE.test(input.name)) {
    problems.push({ path: "name", message: `"${input.name}" is not a Kubernetes label value (63 characters of letters, digits, "-", "_", ".")` });
  }
  const reservation = input.capacityReservationId;
  if (reservation !== undefined && !RESERVATION_ID.test(reservation)) {
    problems.push({ path: "capacityReservationId", message: `"${reservation}" is not a capacity reservation id (cr- and 8 to 17 hex digits)` });
  }
  const az = input.availabilityZone;
  if (az !== undefined && !(az.startsWith(input.region) && /^[a-z]$/.test(az.slice(input.region.length)))) {
    problems.push({ path: "availabilityZone", message: `"${az}" is not an availability zone of ${input.region}, such as ${input.region}a` });
  }
  if (!known) return problems;

  const type = input.instanceType as InstanceType;
  const instance = INSTANCES[type];
  if (input.efa === true && instance.efaInterfaces === 0) {
    const withEfa = INSTANCE_TYPES.filter((t) => INSTANCES[t].gpu === instance.gpu && INSTANCES[t].efaInterfaces > 0);
    problems.push({
      path: "efa",
      message: `${type} has no EFA; choose ${withEfa.length > 0 ? withEfa.join(", ") : "an instance type with EFA"} or set efa: false`,
    });
  }
  let capacityTypeReported = false;
  switch (input.capacityType) {
    case "capacity-block":
      if (!instance.capacityTypes.includes("capacity-block")) {
        capacityTypeReported = true;
        const offered = INSTANCE_TYPES.filter((t) => INSTANCES[t].capacityTypes.includes("capacity-block"));
        problems.push({ path: "capacityType", message: `${type} is not sold as Capacity Blocks; those are ${offered.join(", ")}` });
      }
      if (reservation === undefined) {
        problems.push({
          path: "capacityReservationId",
          message: "a Capacity Block is launched through its reservation; set capacityReservationId to the block's cr- id",
        });
      }
      problems.push(...capacityBlockWindowProblems(input.capacityBlockWindow, input.now ?? Date.now()));
      if (az === undefined) {
        problems.push({
          path: "availabilityZone",
          message: "a Capacity Block lives in one availability zone; set availabilityZone to the block's zone",
        });
      }
      break;
    case "spot":
      if (reservation !== undefined) {
        problems.push({
          path: "capacityReservationId",
          message: "Spot instances cannot launch into a capacity reservation; use capacityType on-demand or drop the reservation",
        });
      }
      break;
    case "on-demand":
      if (reservation !== undefined && az === undefined) {
        problems.push({
          path: "availabilityZone",
          message: "a capacity reservation lives in one availability zone; set availabilityZone to the reservation's zone",
        });
      }
      break;
    default: {
      const unreachable: never = input.capacityType;
      void unreachable;
    }
  }
  const offering = capacityTypeReported ? null : offeringProblem(type, input.region, input.capacityType);
  if (offering) problems.push({ path: "instanceType", message: offering });
  return problems;
}

/** Decides the node group, or returns the problems with its arguments. */
export function nodeGroupSpec(input: NodeGroupSpecInput): { spec: NodeGroupSpec } | { problems: InputProblem[] } {
  const problems = nodeGroupProblems(input);
  if (problems.length > 0) return { problems };
  const instanceType = input.instanceType as InstanceType;
  const instance = INSTANCES[instanceType];
  const efa = input.efa ?? (instance.efaInterfaces > 0 && input.nodesPerReplica > 1);
  const capacityBlock = input.capacityType === "capacity-block";
  const now = input.now ?? Date.now();
  const startsLater = capacityBlock && input.capacityBlockWindow !== undefined && Date.parse(input.capacityBlockWindow.startsAt) > now;
  const { rootVolumeGiB: rootGiB, weightsOnInstanceStore } = rootVolumeGiB(instanceType, input.checkpointSizeGB);
  // Stripe the NVMe only when it holds the weights: the kubelet's directories move onto it,
  // so a too-small array would evict the cache; otherwise the fast root volume holds them.
  const raidInstanceStore = weightsOnInstanceStore;
  const dataVolume: BlockDeviceSpec = weightsOnInstanceStore
    ? { deviceName: "", volumeSizeGiB: rootGiB }
    : { deviceName: "", volumeSizeGiB: rootGiB, throughputMiBps: GP3_MAX.throughputMiBps, iops: GP3_MAX.iops };
  const blockDevices: BlockDeviceSpec[] =
    input.amiFamily === "bottlerocket"
      ? [
          { deviceName: "/dev/xvda", volumeSizeGiB: BOTTLEROCKET_OS_VOLUME_GIB },
          { ...dataVolume, deviceName: "/dev/xvdb" },
        ]
      : [{ ...dataVolume, deviceName: "/dev/xvda" }];
  const labels = {
    [NODE_LABELS.nodeGroup]: input.selectorName ?? input.name,
    [NODE_LABELS.model]: input.model,
    [NODE_LABELS.gpu]: instance.gpu,
  };
  const quote = priceQuote(instanceType, input.region, input.capacityType, input.priceOverrides);
  const cost =
    "problem" in quote
      ? null
      : {
          usdPerHourPerNode: quote.usdPerHourPerNode,
          basis: quote.basis,
          asOf: quote.asOf,
          desired: costAt(quote.usdPerHourPerNode, input.scaling.desiredSize),
          max: costAt(quote.usdPerHourPerNode, input.scaling.maxSize),
        };
  return {
    spec: {
      instanceType,
      gpu: instance.gpu,
      gpusPerNode: instance.gpuCount,
      amiType: AMI_TYPES[input.amiFamily],
      capacityType: EKS_CAPACITY_TYPES[input.capacityType],
      // A Capacity Block's group starts empty and its schedule brings the plan's nodes for the
      // block; one already running starts at full size, with only its end scheduled.
      scaling: capacityBlock ? { minSize: 0, desiredSize: startsLater ? 0 : input.scaling.desiredSize, maxSize: input.scaling.maxSize } : { ...input.scaling },
      schedule: capacityBlock && input.capacityBlockWindow ? capacityBlockSchedule(input.capacityBlockWindow, input.scaling.desiredSize, now) : [],
      startsLater,
      efa,
      networkInterfaces: efa ? efaNetworkInterfaces(instance.efaInterfaces) : [],
      // EFA wants the lowest latency between nodes. A targeted reservation or Capacity Block
      // already fixes where the instances are; a new placement group would not match it.
      placementGroup: efa && input.capacityReservationId === undefined,
      availabilityZone: input.availabilityZone ?? (efa ? "first" : null),
      blockDevices,
      weightsOnInstanceStore,
      userData: userDataFor(input.amiFamily, raidInstanceStore),
      metadataOptions: { ...METADATA_OPTIONS },
      capacityReservationId: input.capacityReservationId ?? null,
      marketType: capacityBlock ? "capacity-block" : null,
      labels,
      taints: [{ key: GPU_TAINT.key, value: GPU_TAINT.value, effect: "NO_SCHEDULE" }],
      nodeSelector: { [NODE_LABELS.nodeGroup]: input.selectorName ?? input.name },
      tolerations: [{ key: GPU_TAINT.key, operator: "Equal", value: GPU_TAINT.value, effect: GPU_TAINT.effect }],
      managedPolicies: [...NODE_MANAGED_POLICIES, ...(input.ssm ? [SSM_MANAGED_POLICY] : [])],
      cost,
      costProblem: "problem" in quote ? quote.problem : null,
    },
  };
}

function userDataFor(family: AmiFamily, raidInstanceStore: boolean): string {
  switch (family) {
    case "al2023":
      return al2023UserData({ raidInstanceStore });
    case "bottlerocket":
      return bottlerocketUserData({ raidInstanceStore });
    default: {
      const unreachable: never = family;
      throw new Error(`unknown AMI family ${String(unreachable)}`);
    }
  }
}

function capacityBlockWindowProblems(window: NodeGroupSpecInput["capacityBlockWindow"], now: number): InputProblem[] {
  const how = "its reservation's StartDate and EndDate (aws ec2 describe-capacity-reservations --capacity-reservation-ids cr-...)";
  if (window === undefined) {
    return [{ path: "capacityBlockWindow", message: `a Capacity Block runs only between its start and end: give capacityBlockWindow: { startsAt, endsAt } from ${how}` }];
  }
  const problems: InputProblem[] = [];
  const start = Date.parse(window.startsAt);
  const end = Date.parse(window.endsAt);
  if (Number.isNaN(start)) problems.push({ path: "capacityBlockWindow.startsAt", message: `"${window.startsAt}" is not an ISO 8601 time such as 2026-12-08T11:30:00Z; take it from ${how}` });
  if (Number.isNaN(end)) problems.push({ path: "capacityBlockWindow.endsAt", message: `"${window.endsAt}" is not an ISO 8601 time such as 2026-12-15T11:30:00Z; take it from ${how}` });
  if (problems.length === 0 && end - start <= CAPACITY_BLOCK_END_MARGIN_MINUTES * 60_000) {
    problems.push({
      path: "capacityBlockWindow.endsAt",
      message: `${window.endsAt} leaves no time after ${window.startsAt}: nodes leave ${CAPACITY_BLOCK_END_MARGIN_MINUTES} minutes before a block ends`,
    });
  } else if (problems.length === 0 && end - CAPACITY_BLOCK_END_MARGIN_MINUTES * 60_000 <= now) {
    problems.push({
      path: "capacityBlockWindow.endsAt",
      message: `the block ends at ${window.endsAt}, less than ${CAPACITY_BLOCK_END_MARGIN_MINUTES} minutes from now or past: give the window of the block you deploy into`,
    });
  }
  return problems;
}

function costAt(usdPerHourPerNode: number, nodes: number) {
  const usdPerHour = usdPerHourPerNode * nodes;
  return { usdPerHour, usdPerMonth: usdPerHour * HOURS_PER_MONTH };
}

/**
 * The tag the cluster autoscaler discovers node groups by. EKS puts
 * `k8s.io/cluster-autoscaler/enabled` on every managed group's Auto Scaling group, the system
 * group and Capacity Blocks included, so llm-fleet marks the groups it may resize with its own.
 */
export const AUTOSCALED_TAG = "llm-fleet.dev/autoscaled";
/** The nodes a group runs at the planned load; the policy pack prices the budget at this size. */
export const PLANNED_NODES_TAG = "llm-fleet.dev/planned-nodes";
/**
 * On an on-demand group that backs a Spot group up: the primary's name. The pair never runs more
 * than the primary's maximum, so the pack prices the fallback's maximum as the difference in price.
 */
export const FALLBACK_FOR_TAG = "llm-fleet.dev/fallback-for";
/**
 * The cluster autoscaler's priority expander tries Spot groups first and an on-demand fallback
 * only when Spot cannot launch (cluster-autoscaler/expander/priority/readme.md); fallback
 * groups are known by this part of their (and their Auto Scaling group's) name.
 */
export const FALLBACK_SUFFIX = "-on-demand";
/** Auto Scaling group names of fallback groups (EKS names them eks-<node group name>-<id>). */
export const FALLBACK_GROUP_PATTERN = `.*${FALLBACK_SUFFIX}-node-group-.*`;

/**
 * Tags on a group's Auto Scaling group that let the cluster autoscaler scale it up from zero:
 * with no node to look at, it learns the labels, taints and extended resources a new node would
 * have from `k8s.io/cluster-autoscaler/node-template/...` tags
 * (https://github.com/kubernetes/autoscaler/blob/master/cluster-autoscaler/cloudprovider/aws/README.md#auto-discovery-setup).
 * GPUs it knows from the instance type; EFA interfaces it does not.
 */
export function autoscalerTags(spec: Pick<NodeGroupSpec, "labels" | "taints" | "efa" | "networkInterfaces">): { key: string; value: string }[] {
  const template = "k8s.io/cluster-autoscaler/node-template";
  const effects: Record<NodeGroupSpec["taints"][number]["effect"], string> = { NO_SCHEDULE: "NoSchedule" };
  return [
    { key: AUTOSCALED_TAG, value: "true" },
    ...Object.entries(spec.labels).map(([key, value]) => ({ key: `${template}/label/${key}`, value })),
    ...spec.taints.map((t) => ({ key: `${template}/taint/${t.key}`, value: `${t.value}:${effects[t.effect]}` })),
    ...(spec.efa ? [{ key: `${template}/resources/vpc.amazonaws.com/efa`, value: String(spec.networkInterfaces.length) }] : []),
  ];
}
