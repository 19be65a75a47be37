"""Cost levers: what a named change to the plan would save per month, or that it is already applied.

Levers are read from the priced estimate and the plan after pricing; a resource that could not
be priced gets no lever.
"""

from __future__ import annotations

from looper_infra.engine.mocks import RecordedResource
from looper_infra.reports.pricing import aws, gcp
from looper_infra.reports.pricing.model import Lever, PlanPricing, Unpriced


def levers(pricing: PlanPricing) -> list[Lever]:
    """Every lever of the plan: GCP's (spot GPU, smaller DB machine, min replicas), then AWS's."""
    return [*gcp_vm_levers(pricing), *gcp_group_levers(pricing), *aws_nat_levers(pricing),
            *aws_db_levers(pricing), *aws_spot_levers(pricing)]


def _unpriced(pricing: PlanPricing) -> set[str]:
    return {u[0] for u in pricing.est.unpriced}


# --- GCP -----------------------------------------------------------------------------------------
def gcp_vm_levers(pricing: PlanPricing) -> list[Lever]:
    """Spot for a GPU VM (or that it already runs as Spot); the next smaller machine for a DB VM."""
    out: list[Lever] = []
    unpriced = _unpriced(pricing)
    for r in pricing.resources:
        if r.type != gcp.INSTANCE or r.urn in unpriced:
            continue
        try:  # a lever found before one that cannot be priced is kept
            out += _gcp_spot_gpu(pricing, r)
            out += _gcp_smaller_db(pricing, r)
        except Unpriced:
            continue
    return out


def _gcp_spot_gpu(pricing: PlanPricing, r: RecordedResource) -> list[Lever]:
    pr, h, inp = pricing.pr, pricing.h, r.inputs
    region = gcp.region_of(inp, pricing.facts(gcp.GcpPlan.of).provider_region) or ""
    mt = str(inp.get("machineType"))
    shape = pr.machines.get(mt) or {}
    if not (shape.get("gpus") or inp.get("guestAccelerators")):
        return []
    od = gcp.vm_hourly(pr, inp, region, "STANDARD")[0]
    sp = gcp.vm_hourly(pr, inp, region, "SPOT")[0]
    if gcp.provisioning_model(inp) == "SPOT":
        return [Lever("spot GPU", r.urn, f"{mt} already runs as SPOT (saves {(od - sp) * h:.2f}/month "
                      "against STANDARD)", 0.0, applied=True)]
    return [Lever("spot GPU", r.urn, f"run {mt} as SPOT: {od * h:.2f} -> {sp * h:.2f} per month "
                  "(preemptible; can be stopped at any time)", (od - sp) * h)]


def _gcp_smaller_db(pricing: PlanPricing, r: RecordedResource) -> list[Lever]:
    pr, inp = pricing.pr, r.inputs
    mt = str(inp.get("machineType"))
    smaller = gcp.smaller_machine(mt, pr.machines) if gcp.is_db(r) else None
    if not smaller:
        return []
    region = gcp.region_of(inp, pricing.facts(gcp.GcpPlan.of).provider_region) or ""
    model = gcp.provisioning_model(inp)
    now = gcp.machine_hourly(pr, mt, region, model)[0]
    less = gcp.machine_hourly(pr, smaller, region, model)[0]
    return [Lever("smaller DB machine", r.urn, f"{mt} -> {smaller}", (now - less) * pricing.h)]


def gcp_group_levers(pricing: PlanPricing) -> list[Lever]:
    """Min replicas down to one per zone, for a regional group that runs more at its minimum."""
    est, h, out = pricing.est, pricing.h, []
    for item in est.items:
        if item.type == gcp.REGION_GROUP and item.unit == "instance-hour":
            group = next(r for r in pricing.resources if r.urn == item.urn)
            zones = len(group.inputs.get("distributionPolicyZones") or [])
            replicas = item.quantity / h
            if zones and replicas > zones:
                per_replica = sum(i.monthly for i in est.items if i.urn == item.urn) / replicas
                out.append(Lever("min replicas at zone count", item.urn,
                                 f"min replicas {replicas:g} -> {zones} (one per zone)",
                                 (replicas - zones) * per_replica))
    return out


# --- AWS -----------------------------------------------------------------------------------------
def _aws_priced(pricing: PlanPricing) -> list[RecordedResource]:
    unpriced = _unpriced(pricing)
    return [r for r in pricing.resources if r.custom and r.urn not in unpriced]


def aws_nat_levers(pricing: PlanPricing) -> list[Lever]:
    """One NAT gateway instead of one per AZ (or that one already serves several AZs)."""
    nats = [r for r in _aws_priced(pricing) if r.type == aws.NAT]
    if not nats:
        return []
    pr, plan = pricing.pr, pricing.facts(aws.AwsPlan.of)
    region = plan.region(nats[0])
    per_nat = pr.price(f"{region}/nat/hour") + (
        pr.price(f"{region}/ip/public-ipv4") if nats[0].inputs.get("allocationId") else 0.0)
    azs = {str(s.inputs["availabilityZone"]) for s in pricing.resources
           if s.type == aws.SUBNET and s.inputs.get("availabilityZone")}
    if len(nats) > 1:
        return [Lever("single NAT gateway", nats[0].urn,
                      f"{len(nats)} -> 1 NAT gateway (an AZ outage then cuts every AZ's egress; "
                      "cross-AZ traffic is charged)", (len(nats) - 1) * per_nat * pricing.h)]
    if len(azs) > 1:
        return [Lever("single NAT gateway", nats[0].urn,
                      f"one NAT gateway already serves {len(azs)} AZs", 0.0, applied=True)]
    return []


def aws_db_levers(pricing: PlanPricing) -> list[Lever]:
    """The next cheaper RDS PostgreSQL class in the snapshot, per DB instance."""
    out, plan = [], pricing.facts(aws.AwsPlan.of)
    for db in (r for r in _aws_priced(pricing) if r.type == aws.DB):
        region, cls = plan.region(db), str(db.inputs.get("instanceClass"))
        prefix = f"{region}/rds/postgres/"
        classes = {k.removeprefix(prefix): float(v["price"]) for k, v in pricing.pr.prices.items()
                   if k.startswith(prefix)}
        cheaper = sorted((p, c) for c, p in classes.items() if p < classes.get(cls, 0.0))
        if cheaper:
            price, smaller = cheaper[-1]
            copies = 2 if db.inputs.get("multiAz") is True else 1
            out.append(Lever("smaller DB class", db.urn, f"{cls} -> {smaller}",
                             (classes[cls] - price) * copies * pricing.h))
    return out


def aws_spot_levers(pricing: PlanPricing) -> list[Lever]:
    """Spot for GPU instances and groups (or that they already run as Spot)."""
    pr, h, plan, out = pricing.pr, pricing.h, pricing.facts(aws.AwsPlan.of), []
    for r in _aws_priced(pricing):
        count, inp = 1.0, r.inputs
        if r.type == aws.ASG:
            lt = plan.launch_template(r)
            if lt is None:
                continue
            count, inp = aws.group_capacity(r), lt.inputs
        elif r.type != aws.INSTANCE:
            continue
        it = str(inp.get("instanceType"))
        shape = pr.aws_instance_types.get(it) or {}
        spot_key = f"{plan.region(r)}/ec2/{it}/SPOT"
        if not shape.get("gpus") or spot_key not in pr.prices:
            continue
        od = pr.price(f"{plan.region(r)}/ec2/{it}/STANDARD")
        sp = pr.price(spot_key)
        if aws.market(inp) == "SPOT":
            out.append(Lever("spot GPU", r.urn, f"{count:g} x {it} already run as Spot (saves "
                             f"{(od - sp) * count * h:.2f}/month against On-Demand)", 0.0, applied=True))
        else:
            out.append(Lever("spot GPU", r.urn, f"run {count:g} x {it} as Spot: {od * count * h:.2f} "
                             f"-> {sp * count * h:.2f} per month (can be interrupted with 2 minutes' "
                             "notice; Spot prices vary)", (od - sp) * count * h))
    return out
