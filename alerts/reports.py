"""The weekly compliance report sent to each region's active notification channels.

Built by compliance.report from stored sweep data; one ReportDelivery per channel and ISO
week, created when the week's send runs (a second run that week creates none), carrying the
report as built then; each delivery is sent by alerts.report_tasks.compliance_report_deliver
and retried with the alerts' backoff. On each kind of channel it reads as alerts do: an
e-mail, a Teams Adaptive Card, a Slack message, or a JSON document signed exactly like an
alert's (X-Portal-Timestamp, X-Portal-Signature: HMAC-SHA256 of "<timestamp>.<body>"), with
`"type": "compliance_report"` so a receiver tells the two apart.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from alerts.channels import Message, SendFailed, message_send
from alerts.models import DeliveryStatus, NotificationChannel
from alerts.notifications import Attempt, delivery_backoff
from alerts.report_models import ReportDelivery
from compliance.report import compliance_report_build, report_document, report_period
from regions.models import Region

log = logging.getLogger(__name__)

DOCUMENT_TYPE = "compliance_report"


def _pct(value: object) -> str:
    return "—" if value is None else f"{value}%"


def _change(value: float | None) -> str:
    return "—" if value is None else f"{value:+.1f} points"


def _facts(document: dict[str, Any]) -> list[tuple[str, str]]:
    now = document["now"]
    return [
        ("Week", f"{document['period_start']} to {document['period_end']}"),
        ("Compliance rate", f"{_pct(now['rate_pct'])} ({now['compliant']} of {now['devices']})"),
        ("Since a week ago", _change(document.get("change_pts"))),
        ("Noncompliant devices", str(document["noncompliant_devices"])),
        (
            "Customers",
            f"{document['customers']} ({document['customers_failing']} with a failing sweep)",
        ),
    ]


def _worst(document: dict[str, Any]) -> list[str]:
    return [
        f"{c['name']}: {_pct(c['rate_pct'])} of {c['devices']} devices" for c in document["worst"]
    ]


def _devices(document: dict[str, Any]) -> list[str]:
    lines = []
    for d in document["top_devices"]:
        policies = d["policies"]
        named = "unknown" if policies is None else ", ".join(policies) or "none named"
        lines.append(
            f"{d['device']} ({d['customer']}, {d['user'] or 'no user'}), noncompliant since "
            f"{d['since'][:10]}; policy failing: {named}"
        )
    return lines


def report_email_text(document: dict[str, Any]) -> str:
    weeks = [f"{w['at'][:10]}: {_pct(w['rate_pct'])}" for w in document["weeks"]]
    sections = [
        document["title"],
        "\n".join(f"{k}: {v}" for k, v in _facts(document)),
        "Trend, week by week:\n" + "\n".join(weeks),
        "Worst customers:\n" + ("\n".join(_worst(document)) or "none with devices"),
        "Longest noncompliant devices:\n" + ("\n".join(_devices(document)) or "none"),
        "The portal's Compliance > Weekly report page has the full report and its CSV.",
    ]
    return "\n\n".join(sections) + "\n"


def _text(text: str, **more: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **more}


def report_teams_message(document: dict[str, Any]) -> dict[str, Any]:
    """An Adaptive Card in the message an incoming webhook (or a Workflows flow) accepts.

    # Reference: https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/add-incoming-webhook
    """
    body: list[dict[str, Any]] = [
        _text(document["title"], weight="Bolder", size="Medium"),
        {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in _facts(document)]},
    ]
    if document["worst"]:
        body += [_text("Worst customers", weight="Bolder"), _text("\n\n".join(_worst(document)))]
    if document["top_devices"]:
        body += [
            _text("Longest noncompliant devices", weight="Bolder"),
            _text("\n\n".join(_devices(document))),
        ]
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
                    "body": body,
                },
            }
        ],
    }


def _slack_escape(text: str) -> str:
    # Reference: https://api.slack.com/reference/surfaces/formatting#escaping
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def report_slack_message(document: dict[str, Any]) -> dict[str, Any]:
    """Reference: https://api.slack.com/messaging/webhooks"""
    facts = "\n".join(f"{k}: {_slack_escape(v)}" for k, v in _facts(document))
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"*{_slack_escape(document['title'])}*"},
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": facts}},
    ]
    for heading, lines in (
        ("Worst customers", _worst(document)),
        ("Longest noncompliant devices", _devices(document)),
    ):
        if lines:
            text = f"*{heading}*\n" + "\n".join(f"• {_slack_escape(line)}" for line in lines)
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}})
    return {"text": document["title"], "blocks": blocks}


def report_webhook_document(document: dict[str, Any]) -> dict[str, Any]:
    """What the signed JSON webhook carries."""
    return {"type": DOCUMENT_TYPE, "report": document}


def report_send(
    *,
    channel: NotificationChannel,
    document: dict[str, Any],
    timeout: float,
    delivery_id: int | None = None,
) -> None:
    """Send the report `document` to `channel` once; raises SendFailed with a sentence."""
    message = Message(
        subject=f"[{document['region_name']}] {document['title']}",
        text=report_email_text(document),
        document=report_webhook_document(document),
        teams=report_teams_message(document),
        slack=report_slack_message(document),
        delivery="" if delivery_id is None else f"report-{delivery_id}",
    )
    message_send(channel=channel, message=message, timeout=timeout)


def report_deliveries_create(*, region: Region, now: datetime | None = None) -> list[int]:
    """This week's report of `region` for each of its active channels that has none yet; the
    ids of the deliveries created (none when the week's send already ran)."""
    now = now or timezone.now()
    period, _, _ = report_period(now)
    channels = list(NotificationChannel.objects.filter(region=region, active=True))
    have = set(
        ReportDelivery.objects.filter(channel__in=channels, period=period).values_list(
            "channel_id", flat=True
        )
    )
    todo = [c for c in channels if c.pk not in have]
    if not todo:
        return []
    document = report_document(compliance_report_build(region=region, now=now))
    created = []
    for channel in todo:
        try:
            with transaction.atomic():  # two runs at once: the constraint lets one win
                delivery = ReportDelivery.objects.create(
                    region=region, channel=channel, period=period, document=document
                )
        except IntegrityError:
            continue
        created.append(delivery.pk)
    log.info("weekly report %s of region %s: %s deliveries", period, region.slug, len(created))
    return created


def report_deliveries_pending(*, now: datetime | None = None) -> list[int]:
    """This week's deliveries still pending (a lost message, a worker killed between
    retries): the weekly run queues them again."""
    period, _, _ = report_period(now or timezone.now())
    return list(
        ReportDelivery.objects.filter(period=period, status=DeliveryStatus.PENDING).values_list(
            "pk", flat=True
        )
    )


def _record(channel: NotificationChannel, error: str) -> None:
    NotificationChannel.objects.filter(pk=channel.pk).update(
        last_delivery_at=timezone.now(), last_error=error
    )


def report_delivery_attempt(*, delivery_id: int) -> Attempt:
    """Send one report delivery once. A sent or failed one (or one whose channel is gone or
    off) does nothing; a failure is recorded on the delivery and its channel (the channels
    page shows it) and says whether to try again."""
    with transaction.atomic():
        delivery = (
            ReportDelivery.objects.select_for_update(of=("self",))
            .select_related("channel")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status != DeliveryStatus.PENDING:
            return Attempt(status="")
        channel = delivery.channel
        if channel.region_id != delivery.region_id:
            # Never possible through report_deliveries_create; refuse rather than leak.
            log.warning("report delivery %s: channel of another region", delivery.pk)
            delivery.status = DeliveryStatus.FAILED
            delivery.last_error = "The channel belongs to another region than the report."
            delivery.save(update_fields=["status", "last_error"])
            return Attempt(status=DeliveryStatus.FAILED)
        if not channel.active:
            delivery.status = DeliveryStatus.FAILED
            delivery.last_error = "The channel was switched off before the report was sent."
            delivery.save(update_fields=["status", "last_error"])
            return Attempt(status=DeliveryStatus.FAILED)
        delivery.attempts += 1
        delivery.save(update_fields=["attempts"])
    try:
        report_send(
            channel=channel,
            document=delivery.document,
            timeout=settings.ALERT_DELIVERY_TIMEOUT_SECONDS,
            delivery_id=delivery.pk,
        )
    except SendFailed as exc:
        error = str(exc)
        final = delivery.attempts >= settings.ALERT_DELIVERY_MAX_ATTEMPTS
        status = DeliveryStatus.FAILED if final else DeliveryStatus.PENDING
        ReportDelivery.objects.filter(pk=delivery.pk).update(status=status, last_error=error)
        _record(channel, f"The weekly report {delivery.period} was not sent: {error}")
        log.warning(
            "report delivery %s (%s) to %s channel %s (%s) failed, attempt %s: %s",
            delivery.pk,
            delivery.period,
            channel.kind,
            channel.pk,
            channel.target_display if channel.is_webhook else "e-mail",
            delivery.attempts,
            error,
        )
        return Attempt(
            status=status, retry_in=None if final else delivery_backoff(delivery.attempts)
        )
    now = timezone.now()
    ReportDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.SENT, sent_at=now, last_error=""
    )
    NotificationChannel.objects.filter(pk=channel.pk).update(last_delivery_at=now, last_error="")
    return Attempt(status=DeliveryStatus.SENT)


def report_deliveries_recent(*, region: Region, limit: int = 100) -> list[ReportDelivery]:
    """The region's latest report sends, newest week first (the caller checked the admin may
    see the region)."""
    return list(
        ReportDelivery.objects.filter(region=region)
        .select_related("channel")
        .order_by("-period", "channel__name", "pk")[:limit]
    )
