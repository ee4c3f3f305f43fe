"""A CSP region: one partner tenant and one partner-managed app registration."""

import dataclasses
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import models
from django.urls import reverse
from django.utils import timezone

from portal import crypto
from regions.permissions import CONSENT_SCOPES, CUSTOMER_APP_ROLES


class Cloud(models.TextChoices):
    GLOBAL = "global", "Microsoft global cloud"
    USGOV = "usgov", "US Government (GCC High)"
    USGOV_DOD = "usgovdod", "US Government (DoD)"
    CHINA = "china", "China (21Vianet)"
    CUSTOM = "custom", "Custom endpoints"


def _endpoint(label: str, help_text: str = "") -> Any:
    return dataclasses.field(metadata={"label": label, "help_text": help_text})


@dataclass(frozen=True)
class CloudEndpoints:
    """Where a region reaches Microsoft. Each field is a Region field of the same name; adding
    an endpoint means a model field and a field here (the form, page and audit follow)."""

    login_host: str = _endpoint(
        "Login host", "Authority host, e.g. https://login.microsoftonline.com"
    )
    graph_base_url: str = _endpoint("Graph base URL", "Graph base without version")
    graph_resource: str = _endpoint("Graph resource (token audience)")
    partner_center_base_url: str = _endpoint("Partner Center base URL")
    partner_center_resource: str = _endpoint("Partner Center resource (token audience)")

    def as_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)


ENDPOINT_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(CloudEndpoints))
ENDPOINT_META: dict[str, Mapping[str, str]] = {
    f.name: f.metadata for f in dataclasses.fields(CloudEndpoints)
}

# The settings an admin edits (the region form's fields; audited with the credential's).
CONFIGURED_FIELDS: tuple[str, ...] = (
    "name",
    "slug",
    "active",
    "partner_tenant_id",
    "cloud",
    *ENDPOINT_FIELDS,
    "ca_bundle",
    "client_id",
    "credential_type",
    "new_customer_access",
)

# Reference: https://learn.microsoft.com/en-us/graph/deployments
# Reference: https://learn.microsoft.com/en-us/partner-center/developer/partner-center-rest-urls
# Partner Center for the US Government clouds is the global one; 21Vianet's has its own host,
# which is also its token audience (Microsoft's Partner Center SDK uses it as the resource).
_GLOBAL_PARTNER_CENTER = "https://api.partnercenter.microsoft.com"
_CHINA_PARTNER_CENTER = "https://partner.partnercenterapi.microsoftonline.cn"
CLOUD_PRESETS: dict[Cloud, CloudEndpoints] = {
    Cloud.GLOBAL: CloudEndpoints(
        login_host="https://login.microsoftonline.com",
        graph_base_url="https://graph.microsoft.com",
        graph_resource="https://graph.microsoft.com",
        partner_center_base_url=_GLOBAL_PARTNER_CENTER,
        partner_center_resource=_GLOBAL_PARTNER_CENTER,
    ),
    Cloud.USGOV: CloudEndpoints(
        login_host="https://login.microsoftonline.us",
        graph_base_url="https://graph.microsoft.us",
        graph_resource="https://graph.microsoft.us",
        partner_center_base_url=_GLOBAL_PARTNER_CENTER,
        partner_center_resource=_GLOBAL_PARTNER_CENTER,
    ),
    Cloud.USGOV_DOD: CloudEndpoints(
        login_host="https://login.microsoftonline.us",
        graph_base_url="https://dod-graph.microsoft.us",
        graph_resource="https://dod-graph.microsoft.us",
        partner_center_base_url=_GLOBAL_PARTNER_CENTER,
        partner_center_resource=_GLOBAL_PARTNER_CENTER,
    ),
    Cloud.CHINA: CloudEndpoints(
        login_host="https://login.partner.microsoftonline.cn",
        graph_base_url="https://microsoftgraph.chinacloudapi.cn",
        graph_resource="https://microsoftgraph.chinacloudapi.cn",
        partner_center_base_url=_CHINA_PARTNER_CENTER,
        partner_center_resource=_CHINA_PARTNER_CENTER,
    ),
}

# Admins are warned this long before an app credential lapses (Entra does not remind anyone).
CREDENTIAL_WARNING = timedelta(days=30)


class CredentialType(models.TextChoices):
    SECRET = "secret", "Client secret"
    CERTIFICATE = "certificate", "Certificate"


class Region(models.Model):
    slug = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    active = models.BooleanField(default=True)
    partner_tenant_id = models.UUIDField(unique=True)
    cloud = models.CharField(max_length=16, choices=Cloud.choices, default=Cloud.GLOBAL)
    # The endpoints: one field per CloudEndpoints field, described there.
    login_host = models.URLField(help_text=ENDPOINT_META["login_host"]["help_text"])
    graph_base_url = models.URLField(help_text=ENDPOINT_META["graph_base_url"]["help_text"])
    graph_resource = models.URLField(
        default=CLOUD_PRESETS[Cloud.GLOBAL].graph_resource,
        help_text=ENDPOINT_META["graph_resource"]["help_text"],
    )
    partner_center_base_url = models.URLField(
        help_text=ENDPOINT_META["partner_center_base_url"]["help_text"]
    )
    partner_center_resource = models.URLField(
        default=_GLOBAL_PARTNER_CENTER,
        help_text=ENDPOINT_META["partner_center_resource"]["help_text"],
    )
    client_id = models.UUIDField(help_text="Application (client) id of the partner-managed app")
    client_secret_encrypted = models.TextField(blank=True, editable=False)
    client_secret_expires_at = models.DateTimeField(null=True, blank=True)
    credential_type = models.CharField(
        max_length=16, choices=CredentialType.choices, default=CredentialType.SECRET
    )
    # The certificate is public; its private key is as secret as a client secret.
    certificate_pem = models.TextField(blank=True)
    certificate_key_encrypted = models.TextField(blank=True, editable=False)
    certificate_thumbprint = models.CharField(
        max_length=40, blank=True, help_text="SHA-1 thumbprint (hex), as Entra shows it"
    )
    certificate_expires_at = models.DateTimeField(null=True, blank=True)
    # The last setup check per item: {"credential": {"status": "ok", "at": "<iso>"}, …}.
    # Statuses only, never the error text (it can name objects an auditor need not see).
    setup_results = models.JSONField(default=dict, blank=True, editable=False)
    ca_bundle = models.CharField(
        max_length=500, blank=True, help_text="CA bundle path for TLS (empty: system CAs)"
    )
    # GDAP access the portal gives the partner's security groups in each customer it creates:
    # [{"group_id": "<partner security group object id>", "roles": ["<role template id>"]}].
    # Partner Center assigns no group on its own, so without this nobody reaches a new
    # customer. Written by regions.services.region_save (regionadmin's form parses it).
    new_customer_access = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("region_edit", args=[self.slug])

    def get_setup_url(self) -> str:
        return reverse("region_setup", args=[self.slug])

    @property
    def client_secret(self) -> str:
        return crypto.decrypt(self.client_secret_encrypted) if self.client_secret_encrypted else ""

    def set_client_secret(self, secret: str) -> None:
        self.client_secret_encrypted = crypto.encrypt(secret)

    @property
    def certificate_private_key(self) -> str:
        if not self.certificate_key_encrypted:
            return ""
        return crypto.decrypt(self.certificate_key_encrypted)

    def set_certificate(self, *, private_key_pem: str, certificate_pem: str) -> None:
        """Store a certificate credential; the caller has validated that key and cert match."""
        from regions.certificates import certificate_expiry, certificate_thumbprint

        self.certificate_key_encrypted = crypto.encrypt(private_key_pem)
        self.certificate_pem = certificate_pem
        self.certificate_thumbprint = certificate_thumbprint(certificate_pem)
        self.certificate_expires_at = certificate_expiry(certificate_pem)

    @property
    def uses_certificate(self) -> bool:
        return self.credential_type == CredentialType.CERTIFICATE

    @property
    def credential_expires_at(self) -> datetime | None:
        """When the credential in use lapses (None: no expiry recorded)."""
        if self.uses_certificate:
            return self.certificate_expires_at
        return self.client_secret_expires_at

    @property
    def has_credential(self) -> bool:
        if self.uses_certificate:
            return bool(self.certificate_key_encrypted and self.certificate_pem)
        return bool(self.client_secret_encrypted)

    @property
    def secret_expired(self) -> bool:
        """The credential in use (secret or certificate) has lapsed: nobody can sign in."""
        expires = self.credential_expires_at
        return expires is not None and expires <= timezone.now()

    @property
    def credential_expires_soon(self) -> bool:
        expires = self.credential_expires_at
        return (
            expires is not None
            and not self.secret_expired
            and expires <= timezone.now() + CREDENTIAL_WARNING
        )

    @property
    def endpoints(self) -> CloudEndpoints:
        return CloudEndpoints(**{name: getattr(self, name) for name in ENDPOINT_FIELDS})

    def authority(self, tenant: str | uuid.UUID | None = None) -> str:
        """The authority URL for a tenant (default: the partner tenant)."""
        return f"{self.login_host.rstrip('/')}/{tenant or self.partner_tenant_id}"

    @property
    def graph_scopes(self) -> list[str]:
        return [f"{self.graph_resource.rstrip('/')}/.default"]

    @property
    def partner_center_scopes(self) -> list[str]:
        return [f"{self.partner_center_resource.rstrip('/')}/.default"]

    @property
    def partner_center_user_scopes(self) -> list[str]:
        """App+User (delegated) Partner Center: what application consent needs."""
        return [f"{self.partner_center_resource.rstrip('/')}/user_impersonation"]

    @property
    def consent_scopes(self) -> list[str]:
        """Delegated Graph scopes a customer's application consent grants the app."""
        return list(CONSENT_SCOPES)

    @property
    def customer_app_roles(self) -> list[str]:
        """Graph application permissions the app needs in each customer (client credentials)."""
        return list(CUSTOMER_APP_ROLES)

    @property
    def tls_verify(self) -> str | None:
        return self.ca_bundle or None


class RegionDomain(models.Model):
    """A sign-in domain of a region; unique across regions so a username picks one region."""

    region = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="domains")
    domain = models.CharField(max_length=253, unique=True)

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain

    def save(self, *args: object, **kwargs: object) -> None:
        self.domain = self.domain.strip().lower()
        super().save(*args, **kwargs)


class DelegatedGrant(models.Model):
    """A signed-in user's tokens (their MSAL cache and account), lent to one background run
    that must act as them, e.g. consenting every customer as the admin who asked for it.

    Encrypted at rest like a session's cache; deleted when the run ends, and refused (then
    purged) after `expires_at`. Task messages carry the run's id, never this row's content.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    region = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="grants")
    purpose = models.CharField(max_length=64)
    granted_by = models.CharField(max_length=256, blank=True)
    tokens_encrypted = models.TextField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.purpose} grant of {self.granted_by or 'someone'}"


class SessionTokenCache(models.Model):
    """One part of a signed-in session's MSAL cache, encrypted at rest: the account's refresh
    tokens and accounts (`tenant` = "", shared by every tenant: Entra's refresh tokens are
    multi-tenant) or one tenant's access and ID tokens. Parallel requests of a session (tabs)
    each write only the parts they changed, merged under the row's lock, so none loses
    another's tokens. `store` is the SHA-256 of a random id kept in the session; the rows go
    with the session (sign-out, deletion, expiry: `regions.token_caches`)."""

    store = models.CharField(max_length=64)
    tenant = models.CharField(max_length=64, blank=True)
    sealed = models.TextField(blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    # A safety net for rows whose session vanished without its deletion being seen.
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "tenant"], name="sessiontokencache_unique")
        ]

    def __str__(self) -> str:
        return f"session token cache {self.store[:8]}… {self.tenant or 'account'}"
