"""The compliance sweep as a Python developer writes it from Microsoft's docs: azure-identity
(async ClientSecretCredential, one per customer tenant, app-only) + msgraph-sdk
(GraphServiceClient, PageIterator), asyncio with a Semaphore.

It reads what compliance/collect.py reads per customer: the managed devices with the same
$select and $top (following @odata.nextLink with the SDK's PageIterator), then the policy
states of the noncompliant devices with the same $select (one request per device: see
_policies). The SDK keeps its defaults: Kiota's default middleware (retry on 429/503/504
honouring Retry-After, redirect, …), azure-identity's own pipeline and token cache. A customer
whose connection failed is read again, up to 3 times, as our sweep does. Only where it points
differs from an application talking to Microsoft: the authority and Graph base of the
simulator, and the simulator's CA given to both transports (this machine's SSL_CERT_FILE /
REQUESTS_CA_BUNDLE must not decide what is trusted).

# Reference: https://learn.microsoft.com/python/api/azure-identity/azure.identity.aio.clientsecretcredential
# Reference: https://learn.microsoft.com/graph/sdks/customize-client?tabs=python
# Reference: https://learn.microsoft.com/graph/sdks/paging?tabs=python
# Reference: https://learn.microsoft.com/graph/api/intune-devices-manageddevice-list
"""

from __future__ import annotations

import asyncio
import ssl
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx
from azure.identity.aio import ClientSecretCredential
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.managed_device import ManagedDevice
from msgraph_core import GraphClientFactory
from msgraph_core.authentication import AzureIdentityAuthenticationProvider
from msgraph_core.tasks.page_iterator import PageIterator

with warnings.catch_warnings():
    # The SDK's generated request builders warn about their own deprecated classes as they load.
    warnings.simplefilter("ignore", DeprecationWarning)
    from msgraph.generated.device_management.managed_devices import (
        managed_devices_request_builder,
    )
    from msgraph.generated.device_management.managed_devices.item.device_compliance_policy_states import (  # noqa: E501
        device_compliance_policy_states_request_builder,
    )

SCOPES = ["https://graph.microsoft.com/.default"]
# What compliance/tally.py's SWEEP_FIELDS and compliance/policy_states.py select.
DEVICE_FIELDS = [
    "id",
    "complianceState",
    "operatingSystem",
    "lastSyncDateTime",
    "deviceName",
    "userPrincipalName",
]
STATE_FIELDS = ["displayName", "state"]
FAILING_STATES = frozenset({"noncompliant", "error"})
_Devices = managed_devices_request_builder.ManagedDevicesRequestBuilder
_DevicesQuery = _Devices.ManagedDevicesRequestBuilderGetQueryParameters
_States = device_compliance_policy_states_request_builder.DeviceCompliancePolicyStatesRequestBuilder
_StatesQuery = _States.DeviceCompliancePolicyStatesRequestBuilderGetQueryParameters


@dataclass(frozen=True)
class App:
    """The partner's multi-tenant app as the region registers it."""

    client_id: str
    client_secret: str


@dataclass
class SdkOutcome:
    tenant_id: str
    total: int = 0
    states: Counter[str] = field(default_factory=Counter)
    systems: Counter[str] = field(default_factory=Counter)
    # Failing policy names per noncompliant device id read.
    policies: dict[str, list[str]] = field(default_factory=dict)
    error: str = ""
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return not self.error


def sdk_sweep(
    *,
    targets: Sequence[tuple[str, App]],
    authority: str,
    graph_base: str,
    ca: str,
    concurrency: int,
    page_size: int = 1000,
    attempts: int = 3,
) -> list[SdkOutcome]:
    """Every target tenant's device tally (and failing policies), `concurrency` at a time."""
    return asyncio.run(
        _sweep(
            targets=targets,
            authority=authority,
            graph_base=graph_base,
            ca=ca,
            concurrency=concurrency,
            page_size=page_size,
            attempts=attempts,
        )
    )


async def _sweep(
    *,
    targets: Sequence[tuple[str, App]],
    authority: str,
    graph_base: str,
    ca: str,
    concurrency: int,
    page_size: int,
    attempts: int,
) -> list[SdkOutcome]:
    # One httpx client for every tenant (its connection pool shared), wrapped once in the
    # SDK's default middleware: what the customize-client page shows for a custom client.
    limits = httpx.Limits(max_connections=max(100, concurrency * 2))
    async with httpx.AsyncClient(
        verify=ssl.create_default_context(cafile=ca),
        trust_env=False,
        base_url=f"{graph_base}/v1.0",
        timeout=60,
        limits=limits,
    ) as http:
        http = GraphClientFactory.create_with_default_middleware(client=http)
        gate = asyncio.Semaphore(concurrency)

        async def one(tenant_id: str, app: App) -> SdkOutcome:
            async with gate:
                return await _customer(
                    tenant_id=tenant_id,
                    app=app,
                    http=http,
                    authority=authority,
                    ca=ca,
                    page_size=page_size,
                    attempts=attempts,
                )

        return await asyncio.gather(*(one(t, a) for t, a in targets))


async def _customer(
    *,
    tenant_id: str,
    app: App,
    http: httpx.AsyncClient,
    authority: str,
    ca: str,
    page_size: int,
    attempts: int,
) -> SdkOutcome:
    outcome = SdkOutcome(tenant_id=tenant_id)
    # One credential per customer tenant, reused for that tenant's pages and batches, closed
    # after (its aiohttp session with it).
    async with ClientSecretCredential(
        tenant_id,
        app.client_id,
        app.client_secret,
        authority=authority,
        disable_instance_discovery=True,  # a private authority: no instance discovery
        connection_verify=ca,
    ) as credential:
        auth = AzureIdentityAuthenticationProvider(
            credential, scopes=SCOPES, allowed_hosts=[httpx.URL(str(http.base_url)).host]
        )
        client = GraphServiceClient(request_adapter=GraphRequestAdapter(auth, client=http))
        for attempt in range(1, attempts + 1):
            outcome = SdkOutcome(tenant_id=tenant_id, attempts=attempt)
            try:
                noncompliant = await _devices(client, outcome, page_size)
                if noncompliant:
                    await _policies(client, outcome, noncompliant)
                return outcome
            except httpx.TransportError as exc:
                # Kiota's retry handler retries answers (429, 503, 504), not a connection
                # that failed; our sweep tries such a customer again, so this side does too.
                outcome.error = f"{type(exc).__name__}: {exc!r}"[:300]
                if attempt < attempts:
                    await asyncio.sleep(min(4.0, 0.5 * 2 ** (attempt - 1)))
            except Exception as exc:  # an SDK error (ODataError, ClientAuthenticationError, …)
                outcome.error = f"{type(exc).__name__}: {exc}"[:300]
                break
    return outcome


async def _devices(client: GraphServiceClient, outcome: SdkOutcome, page_size: int) -> list[str]:
    """Tally every managed device; the ids of the noncompliant ones."""
    query = RequestConfiguration(
        query_parameters=_DevicesQuery(select=DEVICE_FIELDS, top=page_size)
    )
    first = await client.device_management.managed_devices.get(request_configuration=query)
    noncompliant: list[str] = []

    def count(device: ManagedDevice) -> bool:
        state = device.compliance_state.value if device.compliance_state else "unknown"
        outcome.total += 1
        outcome.states[state] += 1
        outcome.systems[device.operating_system or "Unknown"] += 1
        if state == "noncompliant" and device.id:
            noncompliant.append(device.id)
        return True

    if first is not None:
        await PageIterator(first, client.request_adapter).iterate(count)
    return noncompliant


async def _policies(client: GraphServiceClient, outcome: SdkOutcome, ids: list[str]) -> None:
    """Failing policies per noncompliant device, one request per device, one after another
    (the customer's slot of the Semaphore is the concurrency). Our sweep puts 20 devices in a
    $batch; the SDK's batch cannot be used as shipped: msgraph-core 1.5 sends each item's
    absolute URL, which Graph refuses (msgraph-sdk-python#1015), and reads a JSON body as
    base64 bytes, losing it (msgraph-sdk-python-core#807). So the SDK pays a round trip per
    device here, as a developer following the API page does.
    # Reference: https://learn.microsoft.com/graph/api/intune-devices-devicecompliancepolicystate-list
    # Reference: https://github.com/microsoftgraph/msgraph-sdk-python/issues/1015
    # Reference: https://github.com/microsoftgraph/msgraph-sdk-python-core/issues/807"""
    config = RequestConfiguration(query_parameters=_StatesQuery(select=STATE_FIELDS))
    devices = client.device_management.managed_devices
    for device_id in ids:
        states = await devices.by_managed_device_id(device_id).device_compliance_policy_states.get(
            request_configuration=config
        )
        outcome.policies[device_id] = sorted(
            {
                (s.display_name or "").strip()
                for s in ((states.value if states else None) or [])
                if s.state and s.state.value.casefold() in FAILING_STATES and s.display_name
            }
        )
