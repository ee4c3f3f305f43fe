"""How an alert reads on each kind of channel, and sending it there.

A signed JSON webhook (for a PSA or ticketing system) carries two headers:
`X-Portal-Timestamp` (Unix seconds) and `X-Portal-Signature: sha256=<hex>`, the HMAC-SHA256
with the channel's secret of `<timestamp>.<raw body>`. A receiver recomputes it over the bytes
it received, compares in constant time, and rejects timestamps more than a few minutes old,
so a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import send_mail

from alerts.models import Alert, ChannelKind, NotificationChannel
from mscloud.http import PostFailed, post_json

SIGNATURE_HEADER = "X-Portal-Signature"
TIMESTAMP_HEADER = "X-Portal-Timestamp"
DELIVERY_HEADER = "X-Portal-Delivery"


class SendFailed(Exception):
    """Sending to a channel failed; `str()` is a sentence without URL, body or secret."""


def alert_document(alert: Alert) -> dict[str, Any]:
    """The alert as the signed JSON webhook sends it."""
    customer = alert.customer
    return {
        "alert": {
            "id": alert.pk,
            "kind": alert.kind,
            "state": alert.state,
            "title": alert.title,
            "region": alert.region.slug,
            "customer": (
                {"name": customer.name, "tenant_id": str(customer.tenant_id)} if customer else None
            ),
            "opened_at": alert.opened_at.isoformat(),
            "detail": alert.detail,
        }
    }


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Portal-Signature value of `body` sent at `timestamp`."""
    signed = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def _facts(alert: Alert) -> list[tuple[str, str]]:
    facts = [("Kind", alert.get_kind_display()), ("Region", alert.region.name)]
    if alert.customer:
        facts.append(("Customer", alert.customer.name))
    facts.append(("Opened", alert.opened_at.strftime("%Y-%m-%d %H:%M UTC")))
    return facts


def teams_message(alert: Alert) -> dict[str, Any]:
    """An Adaptive Card wrapped in the message an incoming webhook (or a Workflows "post to a
    channel when a webhook request is received" flow) accepts.

    # Reference: https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/add-incoming-webhook
    """
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {
                            "type": "TextBlock",
                            "text": alert.title,
                            "weight": "Bolder",
                            "size": "Medium",
                            "wrap": True,
                        },
                        {
                            "type": "FactSet",
                            "facts": [{"title": k, "value": v} for k, v in _facts(alert)],
                        },
                    ],
                },
            }
        ],
    }


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn treats &, < and > as control characters.
    # Reference: https://api.slack.com/reference/surfaces/formatting#escaping
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_message(alert: Alert) -> dict[str, Any]:
    """`text` is the notification's fallback; `blocks` is what the channel shows.

    Reference: https://api.slack.com/messaging/webhooks"""
    facts = " · ".join(f"{k}: {_slack_escape(v)}" for k, v in _facts(alert))
    return {
        "text": alert.title,
        "blocks": [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"*{_slack_escape(alert.title)}*"},
            },
            {"type": "context", "elements": [{"type": "mrkdwn", "text": facts}]},
        ],
    }


def email_text(alert: Alert) -> str:
    lines = [alert.title, ""] + [f"{k}: {v}" for k, v in _facts(alert)]
    return "\n".join(lines) + "\n\nOpen the portal's Alerts page to acknowledge it.\n"


def _encode(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":"), sort_keys=True, default=str).encode()


@dataclass(frozen=True)
class Message:
    """One thing to tell a channel, in each channel's form: alerts and weekly reports alike."""

    subject: str
    text: str  # e-mail
    document: dict[str, Any]  # signed JSON webhook
    teams: dict[str, Any]
    slack: dict[str, Any]
    delivery: str = ""  # X-Portal-Delivery: lets a receiver drop a repeat


def message_send(*, channel: NotificationChannel, message: Message, timeout: float) -> None:
    """Send `message` to `channel` once; raises SendFailed with a sentence."""
    if channel.kind == ChannelKind.EMAIL:
        addresses = [a for a in (p.strip() for p in channel.target.split(",")) if a]
        try:
            send_mail(
                subject=message.subject,
                message=message.text,
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=addresses,
                fail_silently=False,
            )
        except (OSError, ValueError) as exc:  # smtplib's errors are OSErrors
            raise SendFailed(
                f"The mail server did not take the message ({type(exc).__name__}). Check "
                "EMAIL_HOST and its credentials."
            ) from None
        return
    headers: dict[str, str] = {}
    if channel.kind == ChannelKind.WEBHOOK_JSON:
        body = _encode(message.document)
        timestamp = str(int(time.time()))
        headers[TIMESTAMP_HEADER] = timestamp
        headers[SIGNATURE_HEADER] = signature(channel.secret, timestamp, body)
        if message.delivery:
            headers[DELIVERY_HEADER] = message.delivery
    elif channel.kind == ChannelKind.TEAMS:
        body = _encode(message.teams)
    else:
        body = _encode(message.slack)
    try:
        post_json(
            channel.target,
            body=body,
            headers=headers,
            timeout=timeout,
            allow_private_hosts=settings.ALERT_WEBHOOK_ALLOW_PRIVATE_HOSTS,
        )
    except PostFailed as exc:
        raise SendFailed(str(exc)) from None


def channel_send(
    *, channel: NotificationChannel, alert: Alert, timeout: float, delivery_id: int | None = None
) -> None:
    """Send `alert` to `channel` once; raises SendFailed with a sentence."""
    message = Message(
        subject=f"[{alert.region.name}] {alert.title}",
        text=email_text(alert),
        document=alert_document(alert),
        teams=teams_message(alert),
        slack=slack_message(alert),
        delivery="" if delivery_id is None else str(delivery_id),
    )
    message_send(channel=channel, message=message, timeout=timeout)
