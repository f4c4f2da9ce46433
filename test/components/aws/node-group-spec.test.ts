import { describe, expect, it } from "vitest";
import {
  efaNetworkInterfaces,
  nodeGroupProblems,
  nodeGroupSpec,
  rootVolumeGiB,
  type NodeGroupSpecInput,
} from "../../../components/aws/node-group-spec";
import { al2023UserData, bottlerocketUserData } from "../../../components/aws/user-data";

/** A fixed clock for the Capacity Block schedule: 2026-12-01, a week before the blocks below. */
const NOW = Date.parse("2026-12-01T00:00:00Z");
const base: NodeGroupSpecInput = {
  now: NOW,
  name: "r1",
  instanceType: "p5en.48xlarge",
  region: "us-east-1",
  capacityType: "on-demand",
  scaling: { minSize: 1, desiredSize: 1, maxSize: 1 },
  nodesPerReplica: 1,
  amiFamily: "al2023",
  checkpointSizeGB: 688.6,
  model: "deepseek-r1",
  ssm: false,
  priceOverrides: [],
};

const spec = (input: Partial<NodeGroupSpecInput>) => {
  const result = nodeGroupSpec({ ...base, ...input });
  if ("problems" in result) throw new Error(JSON.stringify(result.problems));
  return result.spec;
};
/** A week-long p5.48xlarge Capacity Block, a week after NOW, in us-east-1a. */
const BLOCK: Partial<NodeGroupSpecInput> = {
  instanceType: "p5.48xlarge",
  capacityType: "capacity-block",
  capacityReservationId: "cr-0123456789abcdef0",
  capacityBlockWindow: { startsAt: "2026-12-08T11:30:00Z", endsAt: "2026-12-15T11:30:00Z" },
  availabilityZone: "us-east-1a",
};
const problems = (input: Partial<NodeGroupSpecInput>) => nodeGroupProblems({ ...base, ...input });

describe("EFA", () => {
  it("is on by default only when a replica spans nodes and the instance has EFA", () => {
    expect(spec({}).efa).toBe(false);
    expect(spec({ nodesPerReplica: 2 }).efa).toBe(true);
    expect(spec({ instanceType: "g6.xlarge", checkpointSizeGB: 3.55, nodesPerReplica: 2 }).efa).toBe(false);
  });
  it("uses one interface per network card, the first carrying IP traffic", () => {
    expect(efaNetworkInterfaces(3)).toEqual([
      { networkCardIndex: 0, deviceIndex: 0, interfaceType: "efa" },
      { networkCardIndex: 1, deviceIndex: 0, interfaceType: "efa-only" },
      { networkCardIndex: 2, deviceIndex: 0, interfaceType: "efa-only" },
    ]);
    expect(spec({ efa: true }).networkInterfaces).toHaveLength(16); // p5en: 16 EFA cards
    expect(spec({ instanceType: "p5.48xlarge", efa: true }).networkInterfaces).toHaveLength(32);
  });
  it("adds a cluster placement group and narrows to one zone, except in a Capacity Block", () => {
    expect(spec({ efa: true })).toMatchObject({ placementGroup: true, availabilityZone: "first" });
    const block = spec({ ...BLOCK, availabilityZone: "us-east-1b", nodesPerReplica: 2, region: "us-east-1" });
    expect(block).toMatchObject({ efa: true, placementGroup: false, availabilityZone: "us-east-1b" });
  });
});

describe("capacity", () => {
  it("maps capacity types to EKS's", () => {
    expect(spec({}).capacityType).toBe("ON_DEMAND");
    expect(spec({ instanceType: "g6.xlarge", checkpointSizeGB: 3.55, capacityType: "spot" }).capacityType).toBe("SPOT");
    const block = spec(BLOCK);
    expect(block).toMatchObject({ capacityType: "CAPACITY_BLOCK", marketType: "capacity-block", capacityReservationId: "cr-0123456789abcdef0" });
  });
  it("creates a Capacity Block's group at 0 and schedules it up at the start and to 0 half an hour before the end", () => {
    const block = spec({ ...BLOCK, scaling: { minSize: 2, desiredSize: 2, maxSize: 2 } });
    expect(block.scaling).toEqual({ minSize: 0, desiredSize: 0, maxSize: 2 });
    expect(block.schedule).toEqual([
      { name: "block-start", startTime: "2026-12-08T11:30:00Z", minSize: 0, desiredCapacity: 2, maxSize: 2 },
      { name: "block-end", startTime: "2026-12-15T11:00:00Z", minSize: 0, desiredCapacity: 0, maxSize: 2 },
    ]);
    expect(block.startsLater).toBe(true);
    // A block already running: its group starts at full size, and only the end is scheduled.
    const running = spec({ ...BLOCK, capacityBlockWindow: { startsAt: "2026-11-30T11:30:00Z", endsAt: "2026-12-07T11:30:00Z" }, scaling: { minSize: 2, desiredSize: 2, maxSize: 2 } });
    expect(running).toMatchObject({ scaling: { minSize: 0, desiredSize: 2, maxSize: 2 }, startsLater: false });
    expect(running.schedule.map((a) => a.name)).toEqual(["block-end"]);
    // A block that has ended is refused: EC2 rejects scheduled actions in the past.
    expect(
      problems({ ...BLOCK, capacityBlockWindow: { startsAt: "2026-11-01T11:30:00Z", endsAt: "2026-11-08T11:30:00Z" } }),
    ).toEqual([
      {
        path: "capacityBlockWindow.endsAt",
        message: "the block ends at 2026-11-08T11:30:00Z, less than 30 minutes from now or past: give the window of the block you deploy into",
      },
    ]);
    // The cost is the block's nodes, not the empty group's.
    expect(spec({ ...BLOCK, scaling: { minSize: 2, desiredSize: 2, maxSize: 2 }, priceOverrides: [{ instanceType: "p5.48xlarge", usdPerHour: 31.464 }] }).cost?.desired.usdPerHour).toBeCloseTo(62.928, 9);
    expect(spec({}).schedule).toEqual([]);
  });
  it("targets an on-demand capacity reservation in its zone, without a market type or placement group", () => {
    expect(spec({ capacityReservationId: "cr-0123456789abcdef0", availabilityZone: "us-east-1c", efa: true })).toMatchObject({
      marketType: null,
      capacityReservationId: "cr-0123456789abcdef0",
      availabilityZone: "us-east-1c",
      placementGroup: false,
    });
    expect(problems({ capacityReservationId: "cr-0123456789abcdef0" })).toEqual([
      { path: "availabilityZone", message: "a capacity reservation lives in one availability zone; set availabilityZone to the reservation's zone" },
    ]);
  });
  it("prices desired and maximum size from the catalog, and says when it cannot", () => {
    expect(spec({ scaling: { minSize: 0, desiredSize: 1, maxSize: 3 } }).cost).toEqual({
      usdPerHourPerNode: 63.296,
      basis: "on-demand",
      asOf: "2026-01-21",
      desired: { usdPerHour: 63.296, usdPerMonth: 63.296 * 730 },
      max: { usdPerHour: 63.296 * 3, usdPerMonth: 63.296 * 3 * 730 },
    });
    const block = spec(BLOCK);
    expect(block.cost).toBeNull();
    expect(block.costProblem).toContain("pass a price override for p5.48xlarge in us-east-1");
  });
});

describe("root volume and instance store", () => {
  it("keeps weights on instance-store NVMe when it holds them with 20 % to spare", () => {
    expect(rootVolumeGiB("p5en.48xlarge", 688.6)).toEqual({ rootVolumeGiB: 100, weightsOnInstanceStore: true });
    // g6.xlarge has 250 GB of NVMe; the 70B distill's 141 GB x 1.2 = 169.2 GB fits, 3 copies would not.
    expect(rootVolumeGiB("g6.xlarge", 141)).toEqual({ rootVolumeGiB: 100, weightsOnInstanceStore: true });
    // 250 GB < 230 x 1.2 = 276 GB: the root volume carries them, ceil(276e9 / 2^30) = 258 GiB more.
    expect(rootVolumeGiB("g6.xlarge", 230)).toEqual({ rootVolumeGiB: 100 + 258, weightsOnInstanceStore: false });
  });
  it("does not stripe an instance store too small for the weights, and gives the root volume gp3's top rate", () => {
    const s = spec({ instanceType: "g6.xlarge", checkpointSizeGB: 230 });
    expect(s.userData).not.toContain("localStorage");
    expect(s.blockDevices).toEqual([{ deviceName: "/dev/xvda", volumeSizeGiB: 358, throughputMiBps: 1000, iops: 16000 }]);
    expect(spec({}).blockDevices).toEqual([{ deviceName: "/dev/xvda", volumeSizeGiB: 100 }]);
  });
});

describe("user data", () => {
  // The full documents are snapshots in gpu-node-group.test.ts, as the launch template carries them.
  it("RAIDs the instance store where there is one, on either AMI family", () => {
    expect(spec({}).userData).toBe(al2023UserData({ raidInstanceStore: true }));
    expect(spec({ amiFamily: "bottlerocket" })).toMatchObject({
      amiType: "BOTTLEROCKET_x86_64_NVIDIA",
      userData: bottlerocketUserData({ raidInstanceStore: true }),
    });
  });
  it("leaves nodeadm's defaults and Bottlerocket's settings alone without one", () => {
    expect(al2023UserData({ raidInstanceStore: false })).toContain("spec:\n  instance: {}\n");
    expect(al2023UserData({ raidInstanceStore: false })).not.toContain("localStorage");
    expect(bottlerocketUserData({ raidInstanceStore: false })).toBe("");
  });
});

describe("labels, taint, selector", () => {
  it("labels the nodes with the group, model and GPU, and taints them for GPU workloads only", () => {
    const s = spec({});
    expect(s.labels).toEqual({ "llm-fleet.dev/node-group": "r1", "llm-fleet.dev/model": "deepseek-r1", "llm-fleet.dev/gpu": "h200" });
    expect(s.taints).toEqual([{ key: "nvidia.com/gpu", value: "true", effect: "NO_SCHEDULE" }]);
    expect(s.nodeSelector).toEqual({ "llm-fleet.dev/node-group": "r1" });
    expect(s.tolerations).toEqual([{ key: "nvidia.com/gpu", operator: "Equal", value: "true", effect: "NoSchedule" }]);
  });
  it("requires IMDSv2 with one hop", () => {
    expect(spec({}).metadataOptions).toEqual({ httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 });
  });
  it("attaches only the worker policies, SSM when asked", () => {
    expect(spec({}).managedPolicies).toEqual(["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"]);
    expect(spec({ ssm: true }).managedPolicies).toEqual([
      "AmazonEKSWorkerNodePolicy",
      "AmazonEKS_CNI_Policy",
      "AmazonEC2ContainerRegistryReadOnly",
      "AmazonSSMManagedInstanceCore",
    ]);
  });
});

describe("validation: every problem at once, with its path and the fix", () => {
  it("EFA on an instance type without it", () => {
    expect(problems({ instanceType: "g6.xlarge", checkpointSizeGB: 3.55, efa: true })).toEqual([
      { path: "efa", message: "g6.xlarge has no EFA; choose g6.8xlarge, g6.12xlarge, g6.16xlarge, g6.24xlarge, g6.48xlarge or set efa: false" },
    ]);
  });
  it("a Capacity Block without a reservation or zone, and on a type that has none", () => {
    expect(problems({ instanceType: "p5.48xlarge", capacityType: "capacity-block" })).toEqual([
      { path: "capacityReservationId", message: "a Capacity Block is launched through its reservation; set capacityReservationId to the block's cr- id" },
      {
        path: "capacityBlockWindow",
        message:
          "a Capacity Block runs only between its start and end: give capacityBlockWindow: { startsAt, endsAt } from its reservation's StartDate and EndDate " +
          "(aws ec2 describe-capacity-reservations --capacity-reservation-ids cr-...)",
      },
      { path: "availabilityZone", message: "a Capacity Block lives in one availability zone; set availabilityZone to the block's zone" },
    ]);
    expect(
      problems({ ...BLOCK, capacityBlockWindow: { startsAt: "next monday", endsAt: "2026-12-08T11:45:00Z" } }).map((p) => p.path),
    ).toEqual(["capacityBlockWindow.startsAt"]);
    expect(
      problems({ ...BLOCK, capacityBlockWindow: { startsAt: "2026-12-08T11:30:00Z", endsAt: "2026-12-08T11:45:00Z" } }),
    ).toEqual([
      {
        path: "capacityBlockWindow.endsAt",
        message: "2026-12-08T11:45:00Z leaves no time after 2026-12-08T11:30:00Z: nodes leave 30 minutes before a block ends",
      },
    ]);
    expect(
      problems({ ...BLOCK, instanceType: "g6.xlarge", checkpointSizeGB: 3.55 }),
    ).toEqual([
      {
        path: "capacityType",
        message: "g6.xlarge is not sold as Capacity Blocks; those are p4d.24xlarge, p5.48xlarge, p5e.48xlarge, p5en.48xlarge, p6-b200.48xlarge, p6-b300.48xlarge",
      },
    ]);
  });
  it("Spot together with a reservation", () => {
    expect(problems({ instanceType: "p5.48xlarge", capacityType: "spot", capacityReservationId: "cr-0123456789abcdef0" })).toEqual([
      { path: "capacityReservationId", message: "Spot instances cannot launch into a capacity reservation; use capacityType on-demand or drop the reservation" },
    ]);
  });
  it("min > desired > max", () => {
    expect(problems({ scaling: { minSize: 3, desiredSize: 2, maxSize: 1 } })).toEqual([
      { path: "scaling.minSize", message: "minSize 3 is above desiredSize 2; lower minSize or raise desiredSize" },
      { path: "scaling.desiredSize", message: "desiredSize 2 is above maxSize 1; raise maxSize or lower desiredSize" },
    ]);
    expect(problems({ scaling: { minSize: -1, desiredSize: 0.5, maxSize: 0 } })).toEqual([
      { path: "scaling.minSize", message: "-1 is not a whole number of nodes >= 0" },
      { path: "scaling.desiredSize", message: "0.5 is not a whole number of nodes >= 0" },
    ]);
    expect(problems({ scaling: { minSize: 0, desiredSize: 0, maxSize: 0 } })).toEqual([
      { path: "scaling.maxSize", message: "0 allows no node; set maxSize to 1 or more" },
    ]);
  });
  it("an instance type not offered in the region", () => {
    expect(problems({ instanceType: "p6-b300.48xlarge", region: "us-east-1" })).toEqual([
      { path: "instanceType", message: "p6-b300.48xlarge is not offered in us-east-1 (sold only in us-west-2)" },
    ]);
  });
  it("an unknown instance type, with a did-you-mean", () => {
    const [problem] = problems({ instanceType: "p5en.48xl" });
    expect(problem).toEqual({ path: "instanceType", message: expect.stringContaining('unknown instance type "p5en.48xl"; did you mean "p5en.48xlarge"?') });
  });
  it("all at once", () => {
    const all = problems({ instanceType: "g6.xlarge", efa: true, capacityType: "spot", capacityReservationId: "x", availabilityZone: "eu-west-1a", scaling: { minSize: 2, desiredSize: 1, maxSize: 1 } });
    expect(all.map((p) => p.path)).toEqual(["scaling.minSize", "capacityReservationId", "availabilityZone", "efa", "capacityReservationId"]);
  });
});
