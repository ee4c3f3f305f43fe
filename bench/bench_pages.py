"""Issue 18 benchmark: page server time at a 10,000-customer partner's scale.

- `/customers/` over 50,000 customers of one region (US), signed in as an agent: the first
  page, sorted by another column, a search, a deep page, a deep page of a descending sort.
- `/compliance/` over 10,000 customers (EU) x 90 daily sweeps (900,000 snapshots), signed in
  as that region's manager: the default view, the problems table sorted, the noncompliant
  devices list (first page, a filter, a search, a deep page).

The database is seeded directly in bulk (bulk_create, COPY for the snapshots) through the
real models; seeding time is reported separately. Pages are timed under gunicorn with
production settings over TLS, from the Server-Timing header (median and p95 of RUNS
requests after one warm-up). `--quick`: 5,000 customers, 1,000 x 90 days.

    BENCH_REDIS=redis://127.0.0.1:6379/12 python -m bench.bench_pages [--quick]
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

from bench.common import (
    ROOT,
    Simulator,
    fresh_database,
    gunicorn,
    machine,
    manage,
    median,
    p95,
    portal_env,
    results_save,
    server_ms,
    sign_in,
)

RUNS = 30
HISTORY_DAYS = 90
DB = os.environ.get("BENCH_DB", "bench_pages")
LIST_TARGET_MS = 100.0
COMPLIANCE_TARGET_MS = 150.0

_FIRST = (
    "Alpine", "Blue", "Cedar", "Delta", "Ember", "Fjord", "Granite", "Harbor", "Iris",
    "Juniper", "Kestrel", "Lakeshore", "Maple", "Northwind", "Oakridge", "Pinnacle", "Quarry",
    "Redwood", "Summit", "Tidewater", "Umber", "Valley", "Willow", "Yarrow", "Zephyr",
)  # fmt: skip
_SECOND = (
    "Logistics", "Dental", "Legal", "Manufacturing", "Consulting", "Foods", "Pharma", "Retail",
    "Engineering", "Media", "Health", "Energy", "Architects", "Insurance", "Capital",
    "Robotics", "Textiles", "Analytics", "Travel", "Labs",
)  # fmt: skip
_SUFFIX = {"us": ("Inc.", "LLC", "Corp."), "eu": ("GmbH", "SAS", "B.V.", "Ltd", "AB")}
_OS = ("Windows", "iOS", "Android", "macOS")
_POLICIES = ("BitLocker required", "Minimum OS version", "Password required", "Defender on")


def _django(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ["LOG_LEVEL"] = "ERROR"
    import django

    django.setup()


def _customers_seed(*, slug: str, count: int, rng: random.Random) -> list[int]:
    """`count` customers in region `slug` with a GDAP relationship row each, as a sync leaves
    them: mostly active GDAP and consented, some expired, DAP-only, not consented, unknown."""
    from django.utils import timezone

    from customers.models import (
        ConsentState,
        Customer,
        GdapRelationship,
        RelationshipStatus,
        RelationshipType,
    )
    from regions.models import Region

    region = Region.objects.get(slug=slug)
    now = timezone.now()
    rows = []
    for i in range(count):
        first, second = _FIRST[rng.randrange(len(_FIRST))], _SECOND[rng.randrange(len(_SECOND))]
        name = f"{first} {second} {rng.choice(_SUFFIX[slug])}"
        if rng.random() < 0.7:  # names repeat across a big book; the number makes them unique
            name = f"{first} {second} {i} {rng.choice(_SUFFIX[slug])}"
        roll = rng.random()
        status = RelationshipStatus.EXPIRED if roll < 0.04 else RelationshipStatus.ACTIVE
        kind = RelationshipType.DAP if roll > 0.97 else RelationshipType.GDAP
        consent = rng.choices(
            [
                ConsentState.CONSENTED,
                ConsentState.NOT_CONSENTED,
                ConsentState.NO_APP_ROLES,
                ConsentState.UNKNOWN,
            ],
            weights=[85, 8, 3, 4],
        )[0]
        rows.append(
            Customer(
                region=region,
                tenant_id=uuid.uuid5(uuid.NAMESPACE_DNS, f"bench-pages-{slug}-{i}"),
                name=name,
                default_domain=f"{first}{second}{i}".lower() + ".onmicrosoft.com",
                relationship_status=status,
                relationship_type=kind,
                relationship_end_at=now + timedelta(days=rng.randint(-30, 700)),
                synced_at=now - timedelta(minutes=rng.randint(1, 600)),
                consent_state=consent,
                consent_checked_at=now - timedelta(hours=rng.randint(1, 48)),
            )
        )
    Customer.objects.bulk_create(rows, batch_size=2000)
    ids = list(Customer.objects.filter(region=region).values_list("pk", flat=True))
    gdap = [
        GdapRelationship(
            customer_id=pk,
            relationship_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"rel-{pk}")),
            display_name=f"Default_{pk}",
            status="active",
            roles=["88d8e3e3-8f55-4a1e-953a-9b9898b8876b"],
            end_at=now + timedelta(days=rng.randint(1, 700)),
            auto_extend="P180D",
            access_assignments=[{"group_id": "g", "roles": [], "status": "active"}],
            synced_at=now,
        )
        for pk in ids
    ]
    GdapRelationship.objects.bulk_create(gdap, batch_size=2000)
    return ids


def _history_seed(*, slug: str, customer_ids: list[int], days: int, rng: random.Random) -> int:
    """`days` daily sweeps of region `slug`: one snapshot per customer per day (COPY), the
    pointer rows the latest sweep leaves, the per-sweep trend points (through the sweep's own
    trend_record), and the noncompliant devices of the latest sweep."""
    from django.db import connection
    from django.utils import timezone

    from compliance.models import (
        ComplianceSweep,
        CustomerCompliance,
        NoncompliantDevice,
        NoncompliantPolicy,
    )
    from compliance.services import trend_record
    from regions.models import Region

    region = Region.objects.get(slug=slug)
    now = timezone.now()
    sizes = {pk: rng.choice((5, 20, 60, 200, 800)) for pk in customer_ids}
    sweeps = []
    for day in range(days, 0, -1):
        at = now - timedelta(days=day)
        sweeps.append(
            ComplianceSweep.objects.create(
                region=region,
                scope=ComplianceSweep.scope_for(region.pk),
                status=ComplianceSweep.Status.DONE,
                started_at=at,
                finished_at=at + timedelta(minutes=9),
                total=len(customer_ids),
                done=len(customer_ids),
            )
        )
    columns = (
        "sweep_id, customer_id, taken_at, ok, error_kind, error, device_total, compliant, "
        "noncompliant, in_grace_period, unknown, conflict, error_devices, config_manager, "
        "stale, os_counts, compliance_rate, duration_ms, requests"
    )
    failed = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY compliance_compliancesnapshot ({columns}) FROM STDIN") as copy:
            for sweep in sweeps:
                for pk in customer_ids:
                    if rng.random() < 0.02:
                        failed += 1
                        copy.write_row(
                            (sweep.pk, pk, sweep.started_at, False, "forbidden",
                             "Microsoft refused the read (403).", 0, 0, 0, 0, 0, 0, 0, 0, 0,
                             "{}", None, 120, 1)
                        )  # fmt: skip
                        continue
                    total = sizes[pk]
                    bad = rng.randint(0, max(1, total // 4))
                    grace = bad // 3
                    compliant = total - bad
                    quarter = total // 4
                    os_counts = json.dumps(
                        {"Windows": total // 2, "iOS": quarter, "Android": total - 3 * quarter}
                    )
                    copy.write_row(
                        (sweep.pk, pk, sweep.started_at, True, "", "", total, compliant,
                         bad - grace, grace, 0, 0, 0, 0, rng.randint(0, total // 10), os_counts,
                         compliant / total, 300, 1 + total // 100)
                    )  # fmt: skip
        # The pointer row per customer: its latest snapshot, and the latest successful one.
        cursor.execute(
            """
            INSERT INTO compliance_customercompliance (
                customer_id, last_snapshot_id, last_good_snapshot_id, last_taken_at, last_ok,
                last_error, good_taken_at, device_total, compliant, noncompliant,
                in_grace_period, stale, compliance_rate, updated_at)
            SELECT l.customer_id, l.id, g.id, l.taken_at, l.ok, l.error, g.taken_at,
                   COALESCE(g.device_total, 0), COALESCE(g.compliant, 0),
                   COALESCE(g.noncompliant, 0), COALESCE(g.in_grace_period, 0),
                   COALESCE(g.stale, 0), g.compliance_rate, now()
            FROM (SELECT DISTINCT ON (customer_id) * FROM compliance_compliancesnapshot
                  ORDER BY customer_id, taken_at DESC) l
            LEFT JOIN (SELECT DISTINCT ON (customer_id) * FROM compliance_compliancesnapshot
                       WHERE ok ORDER BY customer_id, taken_at DESC) g
              ON g.customer_id = l.customer_id
            """
        )
        cursor.execute("ANALYZE")
    for sweep in sweeps:
        trend_record(sweep=sweep)
    latest = CustomerCompliance.objects.filter(customer_id__in=customer_ids)
    devices, policies = [], []
    for pointers in latest.iterator(chunk_size=2000):
        for n in range(min(pointers.noncompliant, 4)):
            devices.append(
                NoncompliantDevice(
                    customer_id=pointers.customer_id,
                    device_id=str(uuid.uuid5(uuid.NAMESPACE_OID, f"{pointers.customer_id}-{n}")),
                    device_name=f"DESKTOP-{pointers.customer_id:05d}{n}",
                    user_principal_name=f"user{n}@tenant{pointers.customer_id}.example",
                    operating_system=_OS[n % len(_OS)],
                    last_sync_at=now - timedelta(hours=rng.randint(1, 300)),
                    since=now - timedelta(days=rng.randint(0, 80), hours=rng.randint(0, 23)),
                    seen_at=now - timedelta(days=1),
                    policies_read=True,
                    policies_read_at=now - timedelta(days=1),
                )
            )
    NoncompliantDevice.objects.bulk_create(devices, batch_size=2000)
    for device in NoncompliantDevice.objects.filter(customer_id__in=customer_ids).only("pk"):
        for name in rng.sample(_POLICIES, rng.randint(1, 2)):
            policies.append(NoncompliantPolicy(device_id=device.pk, name=name))
    NoncompliantPolicy.objects.bulk_create(policies, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return len(devices)


def _measure(browser, base: str, paths: dict[str, str], target: float) -> dict[str, dict]:
    out = {}
    for name, path in paths.items():
        first = browser.get(f"{base}{path}", timeout=120, allow_redirects=False)
        assert first.status_code == 200, (path, first.status_code)
        servers = []
        for _ in range(RUNS):
            response = browser.get(f"{base}{path}", timeout=120, allow_redirects=False)
            assert response.status_code == 200, (path, response.status_code)
            servers.append(server_ms(response))
        out[name] = {
            "path": path,
            "median_server_ms": round(median(servers), 1),
            "p95_server_ms": round(p95(servers), 1),
            "target_ms": target,
        }
    return out


def main(quick: bool = False) -> dict:
    list_customers, compliance_customers = (5_000, 1_000) if quick else (50_000, 10_000)
    results: dict = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        **machine(),
        "quick": quick,
        "setup": {
            "list_customers_us": list_customers,
            "compliance_customers_eu": compliance_customers,
            "history_days": HISTORY_DAYS,
            "runs": RUNS,
        },
    }
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    with Simulator("--customers", "4") as sim:
        info = sim.info()
        env = portal_env(DB)
        fresh_database(DB)
        manage(env, "migrate", "--noinput")
        manage(env, "collectstatic", "--noinput", "-v", "0")
        manage(env, "configure_demo_regions", "--sim", sim.base_url, "--ca", sim.ca)
        _django(env)
        rng = random.Random(18)
        started = time.perf_counter()
        _customers_seed(slug="us", count=list_customers, rng=rng)
        results["setup"]["seed_customers_s"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        eu_ids = _customers_seed(slug="eu", count=compliance_customers, rng=rng)
        devices = _history_seed(slug="eu", customer_ids=eu_ids, days=HISTORY_DAYS, rng=rng)
        results["setup"]["snapshots"] = len(eu_ids) * HISTORY_DAYS
        results["setup"]["noncompliant_devices"] = devices
        results["setup"]["seed_compliance_s"] = round(time.perf_counter() - started, 1)
        from django.db import connections

        connections.close_all()

        agent = next(a for a in info["agents"] if a["username"] == "agent@contosopartners.com")
        manager = next(a for a in info["agents"] if a["username"] == "manager@contosopartners.eu")
        deep = list_customers // 25 // 2  # page 1000 of 2000 at full size
        nc_deep = max(1, devices // 50 // 2)
        with gunicorn(env, sim) as base:
            browser = sign_in(base, sim, agent["username"], agent["password"])
            results["customers"] = _measure(
                browser,
                base,
                {
                    "first_page": "/customers/",
                    "sort_consent": "/customers/?sort=consent",
                    "sort_domain_desc": "/customers/?sort=domain&dir=desc",
                    "search": "/customers/?q=granite",
                    "search_sorted": "/customers/?q=dental&sort=relationship",
                    f"page_{deep}": f"/customers/?page={deep}",
                    f"page_{deep}_sort_consent": f"/customers/?sort=consent&page={deep}",
                },
                LIST_TARGET_MS,
            )
            results_save("pages", results)
            browser = sign_in(base, sim, manager["username"], manager["password"])
            results["compliance"] = _measure(
                browser,
                base,
                {
                    "dashboard": "/compliance/",
                    "dashboard_sort_as_of": "/compliance/?sort=as_of&dir=desc",
                    "noncompliant": "/compliance/noncompliant/",
                    "noncompliant_os": "/compliance/noncompliant/?os=iOS",
                    "noncompliant_policy": "/compliance/noncompliant/?policy=Defender+on",
                    "noncompliant_search": "/compliance/noncompliant/?q=desktop-001",
                    "noncompliant_sort_customer": "/compliance/noncompliant/?sort=customer",
                    f"noncompliant_page_{nc_deep}": f"/compliance/noncompliant/?page={nc_deep}",
                },
                COMPLIANCE_TARGET_MS,
            )
    results_save("pages", results)
    _report(results)
    return results


def _report(r: dict) -> None:
    s = r["setup"]
    print(
        f"\n== Pages at scale ({s['list_customers_us']} customers in US; "
        f"{s['compliance_customers_eu']} x {s['history_days']} days in EU; "
        f"{r['cores']} cores, {r['cpu']})"
    )
    print(
        f"seeding: customers {s['seed_customers_s']} s, compliance {s['seed_compliance_s']} s "
        f"({s['snapshots']} snapshots, {s['noncompliant_devices']} noncompliant devices)"
    )
    print(f"{'page':<34}{'median ms':>10}{'p95 ms':>9}{'target':>8}")
    for group in ("customers", "compliance"):
        for name, m in r.get(group, {}).items():
            ok = "PASS" if m["p95_server_ms"] <= m["target_ms"] else "FAIL"
            print(
                f"{group + ' ' + name:<34}{m['median_server_ms']:>10}{m['p95_server_ms']:>9}"
                f"{m['target_ms']:>8.0f}  {ok}"
            )


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
