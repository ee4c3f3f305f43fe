from accounts.models import Role, User, role_from_claims


def test_the_highest_app_role_wins():
    assert role_from_claims(["Portal.Agent", "Portal.Admin", "Portal.Manager"]) == Role.ADMIN


def test_unknown_or_missing_roles_mean_no_access():
    assert role_from_claims(["Something.Else"]) == Role.NONE
    assert role_from_claims(None) == Role.NONE


def test_a_manager_has_the_agent_role_but_not_the_admin_role():
    user = User(role=Role.MANAGER)
    assert user.has_role(Role.AGENT)
    assert user.has_role(Role.MANAGER)
    assert not user.has_role(Role.ADMIN)
