"""Microsoft's own clients judge the simulator's Graph: azure-identity + msgraph-sdk, unmodified.

`ClientSecretCredential` (authority = the simulator's login host, no instance discovery, the
simulator's CA) gets the app token; `GraphServiceClient` sends it through Kiota's default
middleware (retry, redirect, …) on an httpx client that trusts the simulator's CA. Only the
base URL and the CA differ from an application talking to graph.microsoft.com. A failure here
means the simulator drifted from Microsoft Graph as the SDK (and the page cited) expects it;
an `xfail` names the point of issue 13 that another part of the work fixes.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx
import pytest
from azure.identity import ClientSecretCredential
from kiota_abstractions.api_error import APIError
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.managed_device import ManagedDevice
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.user import User
from msgraph_core import GraphClientFactory
from msgraph_core.authentication import AzureIdentityAuthenticationProvider
from msgraph_core.requests.batch_request_content import BatchRequestContent
from msgraph_core.requests.batch_request_item import BatchRequestItem
from msgraph_core.tasks.page_iterator import PageIterator

from tests.sdkgraph import SDK_WARNINGS, ManagedDevicesQuery, UsersQuery
from tests.simharness import Simulator
from tests.simulator.graph.conftest import SimClient

pytestmark = SDK_WARNINGS
T = TypeVar("T")
BIG_TENANT_USERS = 5_000
SCOPES = ["https://graph.microsoft.com/.default"]
MISSING = "00000000-0000-0000-0000-0000000000aa"
EVENTUAL = ("ConsistencyLevel", "eventual")


@pytest.fixture(scope="module")
def big_sim() -> Iterator[Simulator]:
    simulator = Simulator("--big-tenant-users", str(BIG_TENANT_USERS), "--customers", "4")
    yield simulator
    simulator.stop()


@pytest.fixture
def cloud(big_sim: Simulator) -> Iterator[SimClient]:
    client = SimClient(big_sim)
    yield client
    client.session.close()
    big_sim.reset()


def credential_for(cloud: SimClient, tenant: str) -> ClientSecretCredential:
    app = cloud.us["app"]
    return ClientSecretCredential(
        tenant,
        app["client_id"],
        app["client_secret"],
        authority=cloud.sim.base_url,
        disable_instance_discovery=True,
        connection_verify=cloud.sim.ca,
    )


class StaticToken:
    """A TokenCredential for a token the simulator's token endpoint would not issue."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken(self.token, int(time.time()) + 3600)


def run(
    cloud: SimClient, credential: Any, scenario: Callable[[GraphServiceClient], Awaitable[T]]
) -> T:
    """The SDK as an application builds it, pointed at the simulator, running `scenario`."""

    async def main() -> T:
        async with httpx.AsyncClient(
            verify=ssl.create_default_context(cafile=cloud.sim.ca),
            trust_env=False,  # this machine's SSL_CERT_FILE / REQUESTS_CA_BUNDLE must not win
            base_url=f"{cloud.graph}/v1.0",
            timeout=60,
        ) as http:
            http = GraphClientFactory.create_with_default_middleware(client=http)
            auth = AzureIdentityAuthenticationProvider(
                credential, scopes=SCOPES, allowed_hosts=["127.0.0.1"]
            )
            adapter = GraphRequestAdapter(auth, client=http)
            return await scenario(GraphServiceClient(request_adapter=adapter))

    # Its own thread: Playwright's sync API may hold an event loop in the main thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, main()).result()


def eventual(**query: Any) -> RequestConfiguration:
    config = RequestConfiguration(query_parameters=UsersQuery(**query))
    config.headers.add(*EVENTUAL)
    return config


@pytest.fixture
def customer(cloud: SimClient) -> dict[str, Any]:
    return cloud.customer()


@pytest.fixture
def app(cloud: SimClient, customer: dict[str, Any]) -> ClientSecretCredential:
    return credential_for(cloud, customer["tenant_id"])


# ----- reads ------------------------------------------------------------------------------
def test_the_organization_through_client_secret_credential(cloud, customer, app):
    """GET /organization with an app token from azure-identity's client-credentials flow.
    Reference: https://learn.microsoft.com/graph/api/organization-list
    Reference: https://learn.microsoft.com/python/api/azure-identity/azure.identity.clientsecretcredential
    """
    orgs = run(cloud, app, lambda c: c.organization.get())
    [org] = orgs.value
    assert org.id == customer["tenant_id"]
    assert customer["domain"] in {d.name for d in org.verified_domains or []}


def test_users_with_select_filter_count_and_search(cloud, customer, app):
    """$select, a standard $filter, $count and $search (the last two with ConsistencyLevel).
    Reference: https://learn.microsoft.com/graph/query-parameters
    Reference: https://learn.microsoft.com/graph/aad-advanced-queries
    """
    everyone = cloud.get(
        "/v1.0/users?$top=999&$select=id,displayName", cloud.token(customer["tenant_id"])
    )
    someone = everyone.json()["value"][0]

    async def scenario(c: GraphServiceClient) -> tuple[Any, ...]:
        picked = RequestConfiguration(
            query_parameters=UsersQuery(
                filter=f"id eq '{someone['id']}'", select=["id", "displayName"]
            )
        )
        counted = eventual(count=True, top=1, select=["id"])
        searched = eventual(search=f'"displayName:{someone["displayName"]}"', select=["id"])
        total = RequestConfiguration()
        total.headers.add(*EVENTUAL)
        return (
            await c.users.get(request_configuration=picked),
            await c.users.get(request_configuration=counted),
            await c.users.get(request_configuration=searched),
            await c.users.count.get(request_configuration=total),
        )

    picked, counted, searched, total = run(cloud, app, scenario)
    [user] = picked.value
    assert (user.id, user.display_name) == (someone["id"], someone["displayName"])
    assert user.user_principal_name is None  # not selected
    assert counted.odata_count == total == len(everyone.json()["value"])
    assert someone["id"] in {u.id for u in searched.value}


def test_the_page_iterator_walks_a_5000_user_tenant_seeing_each_user_once(cloud):
    """PageIterator follows @odata.nextLink to the end: every user once, none twice.
    Reference: https://learn.microsoft.com/graph/paging
    Reference: https://learn.microsoft.com/graph/sdks/paging
    """
    big = cloud.customer(big=True)

    async def scenario(c: GraphServiceClient) -> list[str]:
        query = RequestConfiguration(query_parameters=UsersQuery(top=999, select=["id"]))
        first = await c.users.get(request_configuration=query)
        ids: list[str] = []

        def collect(user: User) -> bool:
            ids.append(user.id or "")
            return True

        await PageIterator(first, c.request_adapter).iterate(collect)
        return ids

    ids = run(cloud, credential_for(cloud, big["tenant_id"]), scenario)
    assert len(ids) == BIG_TENANT_USERS
    assert len(set(ids)) == BIG_TENANT_USERS


def test_group_members_are_typed_directory_objects(cloud, customer, app):
    """GET /groups/{id}/members: each member typed by its @odata.type.
    Reference: https://learn.microsoft.com/graph/api/group-list-members
    """
    token = cloud.token(customer["tenant_id"])
    groups = cloud.get("/v1.0/groups", token).json()["value"]
    group = next(
        g for g in groups if cloud.get(f"/v1.0/groups/{g['id']}/members", token).json()["value"]
    )
    plain = cloud.get(f"/v1.0/groups/{group['id']}/members", token).json()["value"]
    members = run(cloud, app, lambda c: c.groups.by_group_id(group["id"]).members.get())
    assert [m.id for m in members.value] == [m["id"] for m in plain]
    assert all(isinstance(m, User) for m in members.value)


def test_managed_devices_with_a_filter(cloud, customer, app):
    """GET /deviceManagement/managedDevices?$filter=complianceState eq 'noncompliant'.
    Reference: https://learn.microsoft.com/graph/api/intune-devices-manageddevice-list
    """
    query = RequestConfiguration(
        query_parameters=ManagedDevicesQuery(filter="complianceState eq 'noncompliant'")
    )
    managed = run(
        cloud, app, lambda c: c.device_management.managed_devices.get(request_configuration=query)
    )
    assert managed.value, "the seed should hold a noncompliant device"
    assert all(isinstance(d, ManagedDevice) for d in managed.value)
    assert {d.compliance_state.value for d in managed.value} == {"noncompliant"}


def test_a_batch_is_one_round_trip_with_a_status_per_request(cloud, app):
    """POST /$batch: one HTTP request, each item answered with its own status.
    Reference: https://learn.microsoft.com/graph/json-batching
    """

    async def scenario(c: GraphServiceClient) -> dict[str, int]:
        items = [
            BatchRequestItem(c.organization.to_get_request_information(), id="org"),
            BatchRequestItem(c.users.to_get_request_information(), id="users"),
            BatchRequestItem(c.users.by_user_id(MISSING).to_get_request_information(), id="gone"),
        ]
        content = BatchRequestContent({item.id: item for item in items})
        result = await c.batch.post(batch_request_content=content)
        return result.get_response_status_codes()

    run(cloud, app, lambda c: c.organization.get())  # the token first: count Graph only
    before = cloud.sim.requests()["counters"]["graph"]
    assert run(cloud, app, scenario) == {"org": 200, "users": 200, "gone": 404}
    assert cloud.sim.requests()["counters"]["graph"] == before + 1


# ----- errors -----------------------------------------------------------------------------
def test_an_unknown_user_is_a_404_odata_error(cloud, app):
    """Reference: https://learn.microsoft.com/graph/errors"""
    with pytest.raises(ODataError) as failure:
        run(cloud, app, lambda c: c.users.by_user_id(MISSING).get())
    assert failure.value.response_status_code == 404
    assert failure.value.error.code == "Request_ResourceNotFound"
    assert failure.value.error.inner_error.request_id


def test_a_missing_managed_device_is_intunes_404_odata_error(cloud, app):
    """Intune's 404 carries Intune's JSON (`_version: 3`) in the ODataError's message.
    Reference: https://learn.microsoft.com/graph/api/intune-devices-manageddevice-get
    Reference: https://github.com/microsoftgraph/powershell-intune-samples/issues/45
    """
    with pytest.raises(ODataError) as failure:
        run(
            cloud,
            app,
            lambda c: c.device_management.managed_devices.by_managed_device_id(MISSING).get(),
        )
    assert failure.value.response_status_code == 404
    assert failure.value.error.code == "ResourceNotFound"
    assert '"_version": 3' in failure.value.error.message


def test_an_app_without_intunes_permission_is_a_403_odata_error_in_intunes_shape(cloud, customer):
    """Reference: https://learn.microsoft.com/graph/api/intune-devices-manageddevice-list
    Reference: https://github.com/mondoohq/cnspec/issues/1708
    """
    token = cloud.mint(customer["tenant_id"], roles=["User.Read.All"])
    with pytest.raises(ODataError) as failure:
        run(cloud, StaticToken(token), lambda c: c.device_management.managed_devices.get())
    assert failure.value.response_status_code == 403
    assert failure.value.error.code == "Forbidden"
    assert '"_version": 3' in failure.value.error.message
    assert "DeviceManagementManagedDevices.Read.All" in failure.value.error.message


def test_a_count_without_consistency_level_is_a_400_odata_error(cloud, app):
    """Reference: https://learn.microsoft.com/graph/aad-advanced-queries"""
    with pytest.raises(ODataError) as failure:
        run(cloud, app, lambda c: c.users.count.get())
    assert failure.value.response_status_code == 400
    assert failure.value.error.code == "Request_BadRequest"


def test_a_429_is_retried_by_kiotas_retry_handler_after_retry_after(cloud, app):
    """Graph's 429 carries Retry-After; the SDK's RetryHandler waits it out and retries.
    Reference: https://learn.microsoft.com/graph/throttling
    """
    run(cloud, app, lambda c: c.organization.get())  # the token before the throttle
    cloud.sim.faults(throttle={"limit": 1, "window": 1})

    async def scenario(c: GraphServiceClient) -> list[Any]:
        return [await c.organization.get(), await c.organization.get()]

    started = time.monotonic()
    first, second = run(cloud, app, scenario)
    assert first.value[0].id == second.value[0].id
    statuses = [r["status"] for r in cloud.sim.requests()["requests"] if r["kind"] == "graph"]
    assert 429 in statuses[-3:] and statuses[-1] == 200
    assert time.monotonic() - started >= 1


# ----- gaps that other parts of issue 13 close --------------------------------------------
def test_ends_with_without_count_is_an_unsupported_query(cloud, customer, app):
    """`endsWith` is an advanced query: ConsistencyLevel: eventual **and** $count=true.
    Reference: https://learn.microsoft.com/graph/aad-advanced-queries
    """
    config = eventual(filter=f"endswith(userPrincipalName,'@{customer['domain']}')")
    with pytest.raises(ODataError) as failure:
        run(cloud, app, lambda c: c.users.get(request_configuration=config))
    assert failure.value.response_status_code == 400
    assert failure.value.error.code == "Request_UnsupportedQuery"


def test_filter_with_orderby_outside_advanced_mode_is_an_unsupported_query(cloud, app):
    """$filter together with $orderby needs advanced query mode.
    Reference: https://learn.microsoft.com/graph/aad-advanced-queries
    """
    config = RequestConfiguration(
        query_parameters=UsersQuery(filter="accountEnabled eq true", orderby=["displayName"])
    )
    with pytest.raises(ODataError) as failure:
        run(cloud, app, lambda c: c.users.get(request_configuration=config))
    assert failure.value.response_status_code == 400
    assert failure.value.error.code == "Request_UnsupportedQuery"


def test_the_count_comes_with_the_first_page_only(cloud, app):
    """Reference: https://learn.microsoft.com/graph/paging"""

    async def scenario(c: GraphServiceClient) -> tuple[Any, Any]:
        first = await c.users.get(request_configuration=eventual(count=True, top=2))
        header = RequestConfiguration()
        header.headers.add(*EVENTUAL)  # the next link is followed in the same query mode
        return first, await c.users.with_url(first.odata_next_link).get(header)

    first, second = run(cloud, app, scenario)
    assert first.odata_count
    assert second.odata_count is None


def test_batch_ids_that_differ_only_in_case_are_duplicates(cloud, app):
    """Request ids in a batch must be unique, compared case-insensitively.
    Reference: https://learn.microsoft.com/graph/json-batching
    """

    async def scenario(c: GraphServiceClient) -> Any:
        org = c.organization.to_get_request_information()
        items = [BatchRequestItem(org, id="a"), BatchRequestItem(org, id="A")]
        return await c.batch.post(
            batch_request_content=BatchRequestContent({i.id: i for i in items})
        )

    # msgraph-core's batch builder maps no error class for 400: Kiota's APIError (ODataError's
    # base) carries the status.
    with pytest.raises(APIError) as failure:
        run(cloud, app, scenario)
    assert failure.value.response_status_code == 400
