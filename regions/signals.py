"""Receivers: a deleted session takes its token rows with it."""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.models import Session

from regions.token_caches import session_store_delete


def session_deleted(sender: type[Session], instance: Session, **kwargs: Any) -> None:
    # The data as stored in the row being deleted. login() cycles the key (this row goes)
    # and only then keeps the new sign-in's tokens, in a new store, so nothing live is lost;
    # a key cycle of a session that keeps its store would cost its tokens (the agent signs
    # in to the tenant again), never leak them.
    session_store_delete(instance.get_decoded())
