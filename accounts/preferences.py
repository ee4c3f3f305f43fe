"""A user's display preferences: colour theme and the columns chosen per table. Reads never
write; a user without a row has the defaults."""

from __future__ import annotations

from accounts.models import Theme, User, UserPreference

TABLE_NAME_MAX = 40
COLUMNS_MAX = 30


def theme_of(user: User) -> str:
    if not user.is_authenticated:
        return Theme.AUTO
    pref = UserPreference.objects.filter(user=user).only("theme").first()
    return pref.theme if pref else Theme.AUTO


def theme_set(*, user: User, theme: str) -> str:
    """Store `theme` (a Theme value; anything else is a ValueError); returns it."""
    if theme not in Theme.values:
        raise ValueError(f"Unknown theme {theme!r}: choose one of {', '.join(Theme.values)}.")
    UserPreference.objects.update_or_create(user=user, defaults={"theme": theme})
    return theme


def columns_of(user: User, table: str) -> list[str] | None:
    """The columns `user` chose for `table`, or None (the table's defaults)."""
    if not user.is_authenticated:
        return None
    pref = UserPreference.objects.filter(user=user).only("table_columns").first()
    chosen = (pref.table_columns if pref else {}).get(table)
    return list(chosen) if isinstance(chosen, list) else None


def columns_set(*, user: User, table: str, columns: list[str], allowed: list[str]) -> list[str]:
    """Store the columns chosen for `table`, keeping only those in `allowed`, in `allowed`'s
    order; an empty choice (or one with nothing allowed) resets the table to its defaults."""
    if not table or len(table) > TABLE_NAME_MAX:
        raise ValueError("Unknown table.")
    kept = [c for c in allowed if c in set(columns)][:COLUMNS_MAX]
    pref, _ = UserPreference.objects.get_or_create(user=user)
    if kept:
        pref.table_columns[table] = kept
    else:
        pref.table_columns.pop(table, None)
    pref.save(update_fields=["table_columns", "updated_at"])
    return kept
