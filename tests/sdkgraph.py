"""msgraph-sdk's request-builder query types, imported once for the tests that use the SDK
(tests/simulator/graph/test_graph_sdk.py, tests/fidelity/test_sdk_graph.py)."""

from __future__ import annotations

import warnings

import pytest

with warnings.catch_warnings():
    # The SDK's generated request builders warn about their own deprecated classes as they
    # load (and again when the SDK loads one lazily: see SDK_WARNINGS).
    warnings.simplefilter("ignore", DeprecationWarning)
    from msgraph.generated.device_management.managed_devices import (
        managed_devices_request_builder,
    )
    from msgraph.generated.users.users_request_builder import UsersRequestBuilder

# pytestmark entries of a module using the SDK.
SDK_WARNINGS = [
    pytest.mark.filterwarnings("ignore:This class is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:GetQueryParameters is deprecated:DeprecationWarning"),
]
UsersQuery = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters
_ManagedDevices = managed_devices_request_builder.ManagedDevicesRequestBuilder
ManagedDevicesQuery = _ManagedDevices.ManagedDevicesRequestBuilderGetQueryParameters
