"""Portal users: partner agents keyed on (tenant id, object id), never on email."""

from django.contrib.auth.models import AbstractUser
from django.db import models


class Role(models.TextChoices):
    NONE = "none", "No access"
    AGENT = "agent", "Agent"
    MANAGER = "manager", "Manager"
    ADMIN = "admin", "Admin"
    # The only role that crosses regions (DESIGN.md Roles): every region's compliance,
    # configuration and audit. Everything an admin may, in every region.
    GLOBAL_ADMIN = "global_admin", "Global admin"


ROLE_RANK = {Role.NONE: 0, Role.AGENT: 1, Role.MANAGER: 2, Role.ADMIN: 3, Role.GLOBAL_ADMIN: 4}
APP_ROLES = {
    "Portal.Agent": Role.AGENT,
    "Portal.Manager": Role.MANAGER,
    "Portal.Admin": Role.ADMIN,
    "Portal.GlobalAdmin": Role.GLOBAL_ADMIN,
}


def role_from_claims(app_roles: list[str] | None) -> Role:
    """The highest portal role among the token's app roles."""
    roles = [APP_ROLES[r] for r in app_roles or [] if r in APP_ROLES]
    return max(roles, key=ROLE_RANK.__getitem__, default=Role.NONE)


class User(AbstractUser):
    tenant_id = models.UUIDField(null=True, blank=True)
    object_id = models.UUIDField(null=True, blank=True)
    display_name = models.CharField(max_length=256, blank=True)
    upn = models.CharField("user principal name", max_length=256, blank=True)
    region = models.ForeignKey(
        "regions.Region", null=True, blank=True, on_delete=models.SET_NULL, related_name="users"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.NONE)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "object_id"], name="user_unique_tid_oid"),
        ]

    def __str__(self) -> str:
        return self.upn or self.username

    @property
    def crosses_regions(self) -> bool:
        """Only a global admin sees beyond their own region."""
        return self.role == Role.GLOBAL_ADMIN

    def has_role(self, role: Role | str) -> bool:
        """True if the user's role is at least `role` (admin > manager > agent)."""
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[Role(role)]


class UserSession(models.Model):
    """One signed-in browser of a user: which server-side session, since when, last seen.

    Kept so that an admin can end a user's sessions (`accounts.sessions.user_sessions_end`):
    the session rows hold the token caches, so deleting them ends everything at once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="portal_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField()
    user_agent = models.CharField("browser", max_length=120, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "last_seen_at"], name="usersession_user_seen")]

    def __str__(self) -> str:
        return f"{self.user} ({self.user_agent or 'unknown browser'})"


class Theme(models.TextChoices):
    AUTO = "auto", "Auto (follow the system)"
    LIGHT = "light", "Light"
    DARK = "dark", "Dark"


class UserPreference(models.Model):
    """What a user chose for how pages look, kept across sessions and devices."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="preference")
    theme = models.CharField(max_length=8, choices=Theme.choices, default=Theme.AUTO)
    # {table name: [column key, …]}: the columns a user chose to see, per table.
    table_columns = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"preferences of {self.user_id}"
