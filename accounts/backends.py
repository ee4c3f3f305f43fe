"""What a portal role may do in Django admin: per-model permissions derived from the role.

Nobody is a Django superuser. Roles come from the partner tenant's app roles at sign-in
(accounts.models.APP_ROLES); this backend turns the role into model permissions, so
`user.has_perm("audit.view_auditevent")` answers for Django admin and anything else asking. Admin
pages are read-only history: no role may add, change or delete sweeps, snapshots, provisioning
runs, audit events or regions there (regions are edited under /regions/, audited). Which rows an
admin sees is the ModelAdmin's business (portal.adminsite.RegionScopedAdmin): their region's.
"""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from accounts.models import Role, User

_ADMIN_VIEWS = frozenset(
    {
        "alerts.view_alert",
        "alerts.view_alertsettings",
        "alerts.view_delivery",
        "alerts.view_notificationchannel",
        "audit.view_auditevent",
        "compliance.view_compliancesweep",
        "compliance.view_compliancesnapshot",
        "provisioning.view_provisioning",
        "provisioning.view_customercreation",
        "regions.view_region",
    }
)
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.ADMIN: _ADMIN_VIEWS,
    Role.GLOBAL_ADMIN: _ADMIN_VIEWS,
}


class RolePermissionBackend(ModelBackend):
    """Session users are loaded as by ModelBackend; passwords never sign anyone in (the
    portal's one way in is Microsoft sign-in); permissions are the role's."""

    def authenticate(self, request: object, **credentials: object) -> None:
        return None

    def get_all_permissions(self, user_obj: User, obj: object = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        return set(ROLE_PERMISSIONS.get(user_obj.role, ()))

    def get_user_permissions(self, user_obj: User, obj: object = None) -> set[str]:
        return self.get_all_permissions(user_obj, obj)

    def get_group_permissions(self, user_obj: User, obj: object = None) -> set[str]:
        return set()

    def has_perm(self, user_obj: User, perm: str, obj: object = None) -> bool:
        return perm in self.get_all_permissions(user_obj, obj)

    def has_module_perms(self, user_obj: User, app_label: str) -> bool:
        return any(p.startswith(f"{app_label}.") for p in self.get_all_permissions(user_obj))
