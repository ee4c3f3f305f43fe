"""The colour theme a page is drawn in: the user's choice (light, dark, or auto: follow the
system's prefers-color-scheme), read for every page and changed from the switch in the nav."""

from __future__ import annotations

from django.http import HttpRequest

from accounts.models import Theme
from accounts.preferences import theme_of, theme_set
from audit.services import audit_record


def theme_context(request: HttpRequest) -> dict[str, object]:
    """Template context: `theme` (the choice) and `themes` (the switch's options).

    Light and dark are set on <html> by the server, before anything paints; auto starts
    light and static/js/theme.js (a blocking script in <head>) sets it from matchMedia."""
    user = getattr(request, "user", None)
    theme = theme_of(user) if user is not None and user.is_authenticated else Theme.AUTO
    return {"theme": theme, "themes": Theme.choices}


def theme_choose(*, request: HttpRequest, theme: str) -> str:
    """Store the signed-in user's theme (audited with before and after); ValueError if
    `theme` is not one of Theme's values."""
    before = theme_of(request.user)
    theme_set(user=request.user, theme=theme)
    if before != theme:
        audit_record(
            action="preference.theme", request=request, detail={"before": before, "after": theme}
        )
    return theme
