"""Deterministic, lazy Graph data for one tenant.

Item i of a collection is a pure function of (seed, tenant id, i) and the day it is served
(timestamps are relative to that day), so a tenant with 100,000 users answers its first page
without building the other 99,900. Small collections are materialized once and cached.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from simulator.graph import names

Item = dict[str, Any]

# Collections up to this size are generated once per tenant and kept (cheap, and filters
# over them are then plain list scans); bigger ones stay lazy.
MATERIALIZE_LIMIT = 2000
NEVER = "9999-12-31T23:59:59Z"

# (entry, weight) pairs for Bits.weighted, built once rather than per generated device.
_CATALOG = tuple((entry, entry[1]) for entry in names.DEVICE_CATALOG)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class Bits:
    """Draws small random numbers from one hash digest (far cheaper than random.Random)."""

    __slots__ = ("_n",)

    def __init__(self, digest: bytes) -> None:
        self._n = int.from_bytes(digest, "big")

    def below(self, n: int) -> int:
        self._n, rest = divmod(self._n, n)
        return rest

    def pick(self, options: Sequence[Any]) -> Any:
        return options[self.below(len(options))]

    def weighted(self, options: Sequence[tuple[Any, int]]) -> Any:
        roll = self.below(sum(weight for _, weight in options))
        for value, weight in options:
            if roll < weight:
                return value
            roll -= weight
        return options[-1][0]


def digest(seed: int, tenant_id: str, kind: str, index: int | str) -> bytes:
    return hashlib.blake2b(f"{seed}|{tenant_id}|{kind}|{index}".encode(), digest_size=48).digest()


def guid_from(raw: bytes) -> str:
    return str(uuid.UUID(bytes=raw[:16], version=4))


def _coprime_step(modulus: int, wish: int) -> int:
    step = wish % modulus or 1
    while math.gcd(step, modulus) != 1:
        step += 1
    return step


def _ascii_slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


class UserName(NamedTuple):
    given: str
    surname: str
    display: str
    upn_local: str


_GIVEN_SLUGS = tuple(_ascii_slug(name) for name in names.GIVEN_NAMES)
_SURNAME_SLUGS = tuple(_ascii_slug(name) for name in names.SURNAMES)


@dataclass
class TenantInfo:
    """What generation depends on, copied from the world's Tenant (which may change later)."""

    seed: int
    id: str
    domain: str
    initial_domain: str
    name: str
    kind: str
    country: str
    created_at: datetime
    users: int
    devices: int
    day: datetime  # midnight UTC of the day served: "now" for generated timestamps
    agents: tuple[Item, ...] = ()  # partner tenants: the agents, as ready-made users


@dataclass
class TenantData:
    """All generated collections of one tenant; methods are pure and thread-safe."""

    info: TenantInfo
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def __post_init__(self) -> None:
        info = self.info
        bits = Bits(digest(info.seed, info.id, "tenant", 0))
        self._combos = len(names.GIVEN_NAMES) * len(names.SURNAMES)
        self._name_step = _coprime_step(self._combos, 7919 + bits.below(self._combos))
        self._name_offset = bits.below(self._combos)
        lang, prefix, cities = names.COUNTRIES.get(
            info.country, names.COUNTRIES[names.DEFAULT_COUNTRY]
        )
        self.language, self.phone_prefix = lang, prefix
        self.city, self.state, self.postal_code = bits.pick(cities)
        self.street = f"{1 + bits.below(400)} {bits.pick(names.STREETS)}"
        self.has_custom_domain = info.kind == "customer" and bits.below(2) == 0
        self.floors = 1 + bits.below(8)
        self.theme_offset = bits.below(len(names.GROUP_THEMES))

    def _memo(self, key: str, build: Callable[[], Any]) -> Any:
        with self._lock:
            if key not in self._cache:
                self._cache[key] = build()
            return self._cache[key]

    # ----- users -------------------------------------------------------------------------
    @property
    def user_count(self) -> int:
        return len(self.info.agents) + self.generated_user_count

    @property
    def generated_user_count(self) -> int:
        return max(0, self.info.users - len(self.info.agents))

    def user_name(self, i: int) -> UserName:
        """Names of generated user i: arithmetic only, so scans of big tenants stay fast."""
        combo = (self._name_offset + self._name_step * (i % self._combos)) % self._combos
        round_ = i // self._combos
        g = combo % len(names.GIVEN_NAMES)
        # Shifting the surname by the given name keeps (g, s) unique but breaks the
        # alphabetical drift a plain linear walk would show.
        s = (combo // len(names.GIVEN_NAMES) + 37 * g) % len(names.SURNAMES)
        given, surname = names.GIVEN_NAMES[g], names.SURNAMES[s]
        suffix = str(round_ + 1) if round_ else ""
        local = f"{_GIVEN_SLUGS[g]}.{_SURNAME_SLUGS[s]}{suffix}"
        return UserName(given, surname, f"{given} {surname}", local)

    def user_light(self, index: int) -> Item:
        """The name properties of user `index` (agents first), for filters and search."""
        agents = self.info.agents
        if index < len(agents):
            return agents[index]
        n = self.user_name(index - len(agents))
        upn = f"{n.upn_local}@{self.info.domain}"
        return {
            "displayName": n.display,
            "givenName": n.given,
            "surname": n.surname,
            "userPrincipalName": upn,
            "mail": upn,
        }

    def user_id(self, index: int) -> str:
        agents = self.info.agents
        if index < len(agents):
            return agents[index]["id"]
        return guid_from(digest(self.info.seed, self.info.id, "user", index - len(agents)))

    def user(self, index: int) -> Item:
        agents = self.info.agents
        if index < len(agents):
            return agents[index]
        if self.generated_user_count <= MATERIALIZE_LIMIT:
            return self._memo("users", self._all_generated_users)[index - len(agents)]
        return self._generate_user(index - len(agents))

    def _all_generated_users(self) -> list[Item]:
        return [self._generate_user(i) for i in range(self.generated_user_count)]

    def _generate_user(self, i: int) -> Item:
        info = self.info
        raw = digest(info.seed, info.id, "user", i)
        bits = Bits(raw[16:])
        n = self.user_name(i)
        upn = f"{n.upn_local}@{info.domain}"
        department, titles = bits.pick(names.DEPARTMENTS)
        span = max(1, (info.day - info.created_at).days)
        created = info.created_at + timedelta(days=bits.below(span), seconds=bits.below(86400))
        phone = f"{self.phone_prefix} 555 0{bits.below(1000):03d} {bits.below(10000):04d}"
        mobile = (
            f"{self.phone_prefix} 555 1{bits.below(1000):03d} {bits.below(10000):04d}"
            if bits.below(10) < 4
            else None
        )
        return {
            "id": guid_from(raw),
            "businessPhones": [phone] if bits.below(10) < 7 else [],
            "displayName": n.display,
            "givenName": n.given,
            "jobTitle": bits.pick(titles),
            "mail": upn,
            "mobilePhone": mobile,
            "officeLocation": f"{self.city} {1 + bits.below(self.floors)}/{bits.below(300):03d}",
            "preferredLanguage": self.language,
            "surname": n.surname,
            "userPrincipalName": upn,
            "accountEnabled": bits.below(100) >= 4,
            "department": department,
            "companyName": info.name,
            "city": self.city,
            "country": info.country,
            "usageLocation": info.country,
            "userType": "Member",
            "createdDateTime": iso(created),
            "employeeId": f"E{10000 + i}",
        }

    def role_holders(self) -> dict[int, str]:
        """{user index: Entra directory role} of a customer's seeded admins: one Global
        Administrator and one User Administrator, in the second half of the users (the first
        ones stay plain users, as tests and demos pick them), fixed by the seed."""
        count = self.generated_user_count
        if self.info.kind != "customer" or count < 4:
            return {}
        half = count // 2
        bits = Bits(digest(self.info.seed, self.info.id, "directory-roles", 0))
        first = half + bits.below(count - half)
        second = half + (first - half + 1 + bits.below(count - half - 1)) % (count - half)
        return {first: "Global Administrator", second: "User Administrator"}

    def user_index(self, key: str) -> int | None:
        """Index of the user with this id or userPrincipalName (case-insensitive)."""
        key = key.lower()
        by_id, by_upn = self._memo("user_index", self._build_user_index)
        found = by_id.get(key)
        return found if found is not None else by_upn.get(key)

    def _build_user_index(self) -> tuple[dict[str, int], dict[str, int]]:
        # Built once per tenant on the first lookup (a few hundred ms for 100k users).
        by_id: dict[str, int] = {}
        by_upn: dict[str, int] = {}
        for index in range(self.user_count):
            by_id[self.user_id(index)] = index
            by_upn[self.user_light(index)["userPrincipalName"].lower()] = index
        return by_id, by_upn

    # ----- groups ------------------------------------------------------------------------
    @property
    def group_count(self) -> int:
        if self.info.kind == "partner":
            return len(names.PARTNER_GROUPS)
        return max(3, min(60, self.generated_user_count // 8 + 3))

    def groups(self) -> list[Item]:
        return self._memo("groups", lambda: [self._group(g) for g in range(self.group_count)])

    def _group(self, g: int) -> Item:
        info = self.info
        raw = digest(info.seed, info.id, "group", g)
        bits = Bits(raw[16:])
        if info.kind == "partner":
            name, unified = names.PARTNER_GROUPS[g], False
            description = f"{name} of {info.name} (Partner Center role group)"
        else:
            themes = names.GROUP_THEMES
            name = themes[(g + self.theme_offset) % len(themes)]
            if g >= len(themes):
                name = f"{name} {g // len(themes) + 1}"
            unified = bits.below(10) < 4
            description = f"{name} team" if unified else f"Security group for {name}"
        nickname = _ascii_slug(name) or f"group{g}"
        created = info.created_at + timedelta(days=bits.below(200), seconds=bits.below(86400))
        return {
            "id": guid_from(raw),
            "displayName": name,
            "description": description,
            "mailNickname": nickname,
            "mail": f"{nickname}@{info.domain}" if unified else None,
            "mailEnabled": unified,
            "securityEnabled": not unified,
            "groupTypes": ["Unified"] if unified else [],
            "visibility": bits.pick(("Private", "Public")) if unified else None,
            "createdDateTime": iso(created),
            "renewedDateTime": iso(created),
            "securityIdentifier": f"S-1-12-1-{bits.below(2**31)}-{bits.below(2**31)}",
        }

    def group_member_indexes(self, g: int) -> list[int]:
        """Generated-user indexes (into user()) that are members of customer group g."""
        count = self.user_count
        if self.info.kind == "partner" or count == 0:
            return []
        bits = Bits(digest(self.info.seed, self.info.id, "members", g))
        size = min(count, 2 + bits.below(24))
        start = bits.below(count)
        step = _coprime_step(count, 1 + bits.below(count)) if count > 1 else 1
        return [(start + k * step) % count for k in range(size)]

    # ----- Intune managed devices and Entra devices ------------------------------------
    @property
    def device_count(self) -> int:
        return self.info.devices

    def managed_device(self, index: int) -> Item:
        if self.device_count <= MATERIALIZE_LIMIT:
            return self._memo("managed", self._all_managed)[index]
        return self._generate_managed(index)

    def managed_device_alone(self, index: int) -> Item:
        """Device `index` without generating the others (a lookup by id); equal to
        managed_device(index)."""
        with self._lock:
            materialized = self._cache.get("managed")
        return materialized[index] if materialized is not None else self._generate_managed(index)

    def managed_device_index(self, device_id: str) -> int | None:
        """Which generated device has this id (None: none); an id map built once per tenant,
        so a lookup by id (a device's page, its policy states, an action) is not a scan."""
        return self._memo("managed_ids", self._managed_ids).get(device_id.lower())

    def _managed_ids(self) -> dict[str, int]:
        info = self.info
        return {
            guid_from(digest(info.seed, info.id, "device", i)): i for i in range(self.device_count)
        }

    def _all_managed(self) -> list[Item]:
        return [self._generate_managed(i) for i in range(self.device_count)]

    def _generate_managed(self, i: int) -> Item:
        info = self.info
        raw = digest(info.seed, info.id, "device", i)
        bits = Bits(raw[16:])
        os_name, _, versions, models = bits.weighted(_CATALOG)
        manufacturer, model = bits.pick(models)
        state = bits.weighted(names.COMPLIANCE_MIX)
        owner_index = bits.below(self.user_count) if self.user_count else None
        owner = self.user_light(owner_index) if owner_index is not None else {}
        stale = bits.below(100) < 6
        synced_ago = timedelta(
            days=31 + bits.below(120) if stale else bits.below(7),
            seconds=bits.below(86400),
        )
        last_sync = info.day - synced_ago
        enrolled = last_sync - timedelta(days=30 + bits.below(900), seconds=bits.below(86400))
        grace = (
            iso(info.day + timedelta(days=1 + bits.below(7), seconds=bits.below(86400)))
            if state == "inGracePeriod"
            else NEVER
        )
        personal_share = 1 if os_name in ("Windows", "macOS") else 25
        roll = bits.below(100)
        owner_type = "unknown" if roll == 0 else "personal" if roll <= personal_share else "company"
        encrypted = bits.below(100) < (60 if state == "noncompliant" else 97)
        return {
            "id": guid_from(raw),
            "userId": self.user_id(owner_index) if owner_index is not None else None,
            "deviceName": self._device_name(os_name, model, owner, bits),
            "managedDeviceOwnerType": owner_type,
            "enrolledDateTime": iso(enrolled),
            "lastSyncDateTime": iso(last_sync),
            "operatingSystem": os_name,
            "complianceState": state,
            "jailBroken": "False" if os_name in ("iOS", "Android") else "Unknown",
            "managementAgent": "configurationManagerClientMdm"
            if state == "configManager"
            else "mdm",
            "osVersion": bits.pick(versions),
            "easActivated": os_name in ("iOS", "Android"),
            "azureADRegistered": True,
            "deviceEnrollmentType": "windowsAzureADJoin"
            if os_name == "Windows"
            else "userEnrollment",
            "emailAddress": owner.get("mail"),
            "azureADDeviceId": guid_from(digest(info.seed, info.id, "aad-device", i)),
            "deviceRegistrationState": "registered",
            "isSupervised": os_name == "iOS" and owner_type == "company",
            "isEncrypted": encrypted,
            "userPrincipalName": owner.get("userPrincipalName"),
            "userDisplayName": owner.get("displayName"),
            "model": model,
            "manufacturer": manufacturer,
            "serialNumber": self._serial(manufacturer, bits),
            "complianceGracePeriodExpirationDateTime": grace,
            "totalStorageSpaceInBytes": bits.pick((64, 128, 256, 512)) * 1024**3,
            "wiFiMacAddress": "".join(f"{bits.below(256):02x}" for _ in range(6)),
        }

    @staticmethod
    def _device_name(os_name: str, model: str, owner: Item, bits: Bits) -> str:
        given = owner.get("givenName") or "Shared"
        if os_name == "Windows":
            return "DESKTOP-" + "".join(
                bits.pick("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(7)
            )
        if os_name == "Android":
            local = (owner.get("userPrincipalName") or "shared").split("@")[0]
            return f"{local}_Android_{1 + bits.below(12)}/{1 + bits.below(28)}/2025"
        kind = "MacBook" if os_name == "macOS" else model.split(" (")[0].rsplit(" ", 1)[0]
        return f"{given}'s {kind}"

    @staticmethod
    def _serial(manufacturer: str, bits: Bits) -> str:
        alnum = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
        if manufacturer == "Microsoft Corporation":
            return "".join(str(bits.below(10)) for _ in range(12))
        if manufacturer == "HP":
            return "5CG" + "".join(bits.pick(alnum) for _ in range(7))
        if manufacturer == "LENOVO":
            return "PF" + "".join(bits.pick(alnum) for _ in range(6))
        if manufacturer == "samsung":
            return "R58" + "".join(bits.pick(alnum) for _ in range(8))
        length = 10 if manufacturer == "Apple" else 7
        return "".join(bits.pick(alnum) for _ in range(length))

    def device(self, index: int) -> Item:
        """The Entra device object registered for managed device `index`."""
        managed = self.managed_device(index)
        raw = digest(self.info.seed, self.info.id, "entra-device", index)
        bits = Bits(raw[16:])
        os_name = managed["operatingSystem"]
        trust = "Workplace"
        if os_name == "Windows":
            trust = "ServerAd" if bits.below(10) < 2 else "AzureAd"
        last_sync = datetime.strptime(managed["lastSyncDateTime"], "%Y-%m-%dT%H:%M:%SZ")
        sign_in = last_sync.replace(tzinfo=UTC) - timedelta(seconds=bits.below(6 * 3600))
        return {
            "id": guid_from(raw),
            "deviceId": managed["azureADDeviceId"],
            "displayName": managed["deviceName"],
            "operatingSystem": "MacMDM" if os_name == "macOS" else os_name,
            "operatingSystemVersion": managed["osVersion"],
            "isCompliant": managed["complianceState"] == "compliant",
            "isManaged": True,
            "trustType": trust,
            "accountEnabled": bits.below(50) != 0,
            "approximateLastSignInDateTime": iso(sign_in),
            "registrationDateTime": managed["enrolledDateTime"],
            "manufacturer": managed["manufacturer"],
            "model": managed["model"],
            "profileType": "RegisteredDevice",
            "deviceOwnership": "Company"
            if managed["managedDeviceOwnerType"] == "company"
            else "Personal",
        }

    def compliance_counts(self) -> dict[str, int]:
        """complianceState -> number of managed devices (one scan, cached)."""

        def build() -> dict[str, int]:
            counts = {state: 0 for state, _ in names.COMPLIANCE_MIX}
            for i in range(self.device_count):
                counts[self.managed_device(i)["complianceState"]] += 1
            return counts

        return self._memo("compliance", build)

    def os_counts(self) -> dict[str, int]:
        def build() -> dict[str, int]:
            counts = {entry[0]: 0 for entry in names.DEVICE_CATALOG}
            for i in range(self.device_count):
                counts[self.managed_device(i)["operatingSystem"]] += 1
            return counts

        return self._memo("os", build)

    # ----- organization and compliance policies ----------------------------------------
    def organization(self) -> Item:
        info = self.info
        domains = self._domains()
        default = next(d["name"] for d in domains if d["isDefault"])
        return {
            "id": info.id,
            "displayName": info.name,
            "tenantType": "AAD",
            "countryLetterCode": info.country,
            "city": self.city,
            "state": self.state or None,
            "street": self.street,
            "postalCode": self.postal_code,
            "country": None,
            "preferredLanguage": self.language,
            "businessPhones": [f"{self.phone_prefix} 555 0100"],
            "technicalNotificationMails": [f"admin@{default}"],
            "marketingNotificationEmails": [],
            "securityComplianceNotificationMails": [],
            "createdDateTime": iso(info.created_at),
            "onPremisesSyncEnabled": None,
            "onPremisesLastSyncDateTime": None,
            "verifiedDomains": domains,
            "assignedPlans": [],
            "provisionedPlans": [],
        }

    def _domains(self) -> list[Item]:
        info = self.info
        capabilities = "Email, OfficeCommunicationsOnline"
        initial = info.initial_domain or info.domain
        custom = None
        if info.initial_domain and info.initial_domain != info.domain:
            custom = info.domain
        elif self.has_custom_domain and info.domain.endswith(".onmicrosoft.com"):
            custom = info.domain.removesuffix(".onmicrosoft.com") + ".com"
        domains = [
            {
                "capabilities": capabilities,
                "isDefault": custom is None,
                "isInitial": True,
                "name": initial,
                "type": "Managed",
            }
        ]
        if custom:
            domains.append(
                {
                    "capabilities": capabilities,
                    "isDefault": True,
                    "isInitial": False,
                    "name": custom,
                    "type": "Managed",
                }
            )
        return domains

    def compliance_policies(self) -> list[Item]:
        info = self.info
        specs = (
            ("#microsoft.graph.windows10CompliancePolicy", "Windows 10/11 - Baseline"),
            ("#microsoft.graph.iosCompliancePolicy", "iOS - Corporate devices"),
            ("#microsoft.graph.androidWorkProfileCompliancePolicy", "Android - Work profile"),
            ("#microsoft.graph.macOSCompliancePolicy", "macOS - Baseline"),
        )
        policies = []
        for k, (odata_type, name) in enumerate(specs):
            raw = digest(info.seed, info.id, "policy", k)
            bits = Bits(raw[16:])
            created = info.created_at + timedelta(days=10 + bits.below(60))
            modified = created + timedelta(days=bits.below(max(1, (info.day - created).days)))
            policies.append(
                {
                    "@odata.type": odata_type,
                    "id": guid_from(raw),
                    "displayName": name,
                    "description": f"{name} compliance requirements",
                    "createdDateTime": iso(created),
                    "lastModifiedDateTime": iso(max(created, modified)),
                    "version": 1 + bits.below(7),
                }
            )
        return policies

    def compliance_policy_states(self, device: Item) -> list[Item]:
        """A managed device's state per compliance policy of its platform, consistent with
        its complianceState: a noncompliant device (or one in its grace period) fails at
        least one setting of its policy, a compliant one none. Pure in the device's id.

        v1.0 properties only (beta adds userId and userPrincipalName).
        Reference: https://learn.microsoft.com/graph/api/resources/intune-devices-manageddevice
        """
        info = self.info
        status = names.POLICY_STATE_OF_DEVICE_STATE.get(device["complianceState"], "unknown")
        states = []
        for policy in self.compliance_policies():
            platform = names.COMPLIANCE_POLICY_PLATFORMS.get(policy["@odata.type"])
            if platform is None or platform[0] != device["operatingSystem"]:
                continue
            _, platform_type, class_name, settings = platform
            raw = digest(info.seed, info.id, "policy-state", f"{device['id']}|{policy['id']}")
            bits = Bits(raw[16:])
            setting_status = _setting_states(status, len(settings), device, bits)
            states.append(
                {
                    # A state's own key, not the policy's id: clients match by displayName.
                    "id": guid_from(raw),
                    "settingStates": [
                        _setting_state(class_name, name, state, policy, device)
                        for name, state in zip(settings, setting_status, strict=True)
                    ],
                    "displayName": policy["displayName"],
                    "version": policy["version"],
                    "platformType": platform_type,
                    "state": status,
                    "settingCount": len(settings),
                }
            )
        return states


# An Intune error code on a setting it could not evaluate (0x87D1FDE8, "remediation failed");
# which code Intune reports for a compliance setting in error is unconfirmed.
SETTING_ERROR_CODE = -2016281112


def _setting_states(status: str, count: int, device: Item, bits: Bits) -> list[str]:
    """The complianceStatus of each of a policy's `count` settings under policy `status`:
    a failing policy fails one or two settings (the encryption one, first in the catalog -
    on iOS the passcode, which is what encrypts it - when the device is not encrypted), an
    error or a conflict sits on one setting."""
    if status in ("compliant", "unknown", "notApplicable"):
        return [status] * count
    out = ["compliant"] * count
    if status == "nonCompliant":
        # The encryption setting fails exactly when the device is not encrypted; now and
        # then a second setting fails too.
        failing = {0} if device.get("isEncrypted") is False else {1 + bits.below(count - 1)}
        if bits.below(3) == 0:
            failing.add(1 + bits.below(count - 1))
        for k in failing:
            out[k] = "nonCompliant"
    else:
        out[bits.below(count)] = status
    return out


def _setting_state(class_name: str, name: str, state: str, policy: Item, device: Item) -> Item:
    """One deviceCompliancePolicySettingState, as the device's user reported it.

    Reference: https://learn.microsoft.com/graph/api/resources/intune-deviceconfig-devicecompliancepolicysettingstate
    """
    return {
        "setting": f"{class_name}.{name}",
        "settingName": name,
        "instanceDisplayName": None,
        "state": state,
        "errorCode": SETTING_ERROR_CODE if state == "error" else 0,
        "errorDescription": None,
        "userId": device.get("userId"),
        "userName": device.get("userDisplayName"),
        "userEmail": device.get("emailAddress"),
        "userPrincipalName": device.get("userPrincipalName"),
        "sources": [{"id": policy["id"], "displayName": policy["displayName"]}],
        "currentValue": None,
    }


_CACHE: OrderedDict[tuple[Any, ...], TenantData] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 64


def info_key(info: TenantInfo) -> tuple[Any, ...]:
    """Everything a tenant's generated data depends on: equal keys, equal data."""
    return (
        info.seed,
        info.id,
        info.users,
        info.devices,
        info.day,
        info.domain,
        tuple(a["id"] for a in info.agents),
    )


def tenant_data(info: TenantInfo) -> TenantData:
    """The (LRU-cached) generated data of one tenant as it looks on `info.day`."""
    key = info_key(info)
    with _CACHE_LOCK:
        found = _CACHE.get(key)
        if found is not None:
            _CACHE.move_to_end(key)
            return found
    data = TenantData(info)
    with _CACHE_LOCK:
        _CACHE[key] = data
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return data
