"""A CSP region: one partner tenant and one partner-managed app registration."""

import uuid

from django.db import models
from django.utils import timezone

from portal import crypto


class Cloud(models.TextChoices):
    GLOBAL = "global", "Microsoft global cloud"
    USGOV = "usgov", "US Government (GCC High / DoD)"
    CHINA = "china", "China (21Vianet)"
    CUSTOM = "custom", "Custom endpoints"


# Reference: https://learn.microsoft.com/en-us/graph/deployments
CLOUD_PRESETS: dict[str, dict[str, str]] = {
    Cloud.GLOBAL: {
        "login_host": "https://login.microsoftonline.com",
        "graph_base_url": "https://graph.microsoft.com",
        "graph_resource": "https://graph.microsoft.com",
        "partner_center_base_url": "https://api.partnercenter.microsoft.com",
    },
    Cloud.USGOV: {
        "login_host": "https://login.microsoftonline.us",
        "graph_base_url": "https://graph.microsoft.us",
        "graph_resource": "https://graph.microsoft.us",
        "partner_center_base_url": "https://api.partnercenter.microsoft.com",
    },
    Cloud.CHINA: {
        "login_host": "https://login.partner.microsoftonline.cn",
        "graph_base_url": "https://microsoftgraph.chinacloudapi.cn",
        "graph_resource": "https://microsoftgraph.chinacloudapi.cn",
        "partner_center_base_url": "https://partner.partnercenterapi.microsoftonline.cn",
    },
}
PARTNER_CENTER_RESOURCE = "https://api.partnercenter.microsoft.com"


class Region(models.Model):
    slug = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    active = models.BooleanField(default=True)
    partner_tenant_id = models.UUIDField(unique=True)
    cloud = models.CharField(max_length=16, choices=Cloud.choices, default=Cloud.GLOBAL)
    login_host = models.URLField(help_text="Authority host, e.g. https://login.microsoftonline.com")
    graph_base_url = models.URLField(help_text="Graph base without version")
    graph_resource = models.URLField(default="https://graph.microsoft.com")
    partner_center_base_url = models.URLField()
    client_id = models.UUIDField(help_text="Application (client) id of the partner-managed app")
    client_secret_encrypted = models.TextField(blank=True, editable=False)
    client_secret_expires_at = models.DateTimeField(null=True, blank=True)
    ca_bundle = models.CharField(
        max_length=500, blank=True, help_text="CA bundle path for TLS (empty: system CAs)"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def client_secret(self) -> str:
        return crypto.decrypt(self.client_secret_encrypted) if self.client_secret_encrypted else ""

    def set_client_secret(self, secret: str) -> None:
        self.client_secret_encrypted = crypto.encrypt(secret)

    @property
    def secret_expired(self) -> bool:
        expires = self.client_secret_expires_at
        return expires is not None and expires <= timezone.now()

    def authority(self, tenant: str | uuid.UUID | None = None) -> str:
        """The authority URL for a tenant (default: the partner tenant)."""
        return f"{self.login_host.rstrip('/')}/{tenant or self.partner_tenant_id}"

    @property
    def graph_scopes(self) -> list[str]:
        return [f"{self.graph_resource.rstrip('/')}/.default"]

    @property
    def partner_center_scopes(self) -> list[str]:
        return [f"{PARTNER_CENTER_RESOURCE}/.default"]

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
