"""Deliveries that nobody sends (the worker died, the broker lost the message) are queued again
by a periodic watch, and the delivery row, not the message, decides who sends: two workers
given the same delivery send it once."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from alerts.models import ChannelKind, Delivery, DeliveryStatus
from alerts.notifications import deliveries_stuck, delivery_attempt
from alerts.tasks import alert_deliver, alert_deliveries_watch
from tests.alerts.support import alert_opened, channel_make

pytestmark = pytest.mark.django_db


def pending_delivery(own_region, own_customer, record_sweep, url, **fields) -> Delivery:
    """A pending delivery to a signed webhook whose message was never sent (the channel is
    added after the alert opened), so the test alone decides who attempts it."""
    alert = alert_opened(own_region, own_customer, record_sweep)
    channel, _ = channel_make(own_region, ChannelKind.WEBHOOK_JSON, url)
    return Delivery.objects.create(alert=alert, channel=channel, **fields)


def minutes_ago(minutes: float):
    return timezone.now() - timedelta(minutes=minutes)


def test_the_watch_runs_every_minute_on_beat_and_its_messages_expire():
    entry = django_settings.CELERY_BEAT_SCHEDULE["alert-deliveries-watch"]
    assert entry["task"] == "alerts.tasks.alert_deliveries_watch"
    assert entry["schedule"] == django_settings.ALERT_DELIVERY_WATCH_SECONDS == 60
    assert entry["options"]["expires"] == entry["schedule"]
    assert django_settings.ALERT_DELIVERY_STUCK_SECONDS == 300


def test_a_delivery_pending_for_minutes_is_queued_again_and_sent_once(
    own_region, own_customer, record_sweep, receiver, django_capture_on_commit_callbacks
):
    delivery = pending_delivery(
        own_region, own_customer, record_sweep, receiver.url, due_at=minutes_ago(6)
    )
    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert alert_deliveries_watch.apply().get() == 1
    assert len(queued) == 1
    alert_deliver.apply(args=[delivery.pk])
    # The lost message turns up after all: the delivery is sent, so it sends nothing more.
    alert_deliver.apply(args=[delivery.pk])
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 1
    assert len(receiver.requests) == 1
    assert deliveries_stuck() == []


def test_a_fresh_delivery_or_one_waiting_for_its_backoff_is_left_to_its_own_message(
    own_region, own_customer, record_sweep, receiver
):
    fresh = pending_delivery(own_region, own_customer, record_sweep, receiver.url)
    assert deliveries_stuck() == []
    # Failed once, retried by Celery in 4 minutes: not stuck before it is overdue by 5 more.
    Delivery.objects.filter(pk=fresh.pk).update(
        attempts=1, due_at=timezone.now() + timedelta(minutes=4)
    )
    assert deliveries_stuck() == []
    Delivery.objects.filter(pk=fresh.pk).update(due_at=minutes_ago(4))
    assert deliveries_stuck() == []
    Delivery.objects.filter(pk=fresh.pk).update(due_at=minutes_ago(6))
    assert deliveries_stuck() == [fresh.pk]


@pytest.mark.parametrize("status", [DeliveryStatus.SENT, DeliveryStatus.FAILED])
def test_a_sent_or_failed_delivery_is_never_queued_again(
    status, own_region, own_customer, record_sweep, receiver
):
    pending_delivery(
        own_region, own_customer, record_sweep, receiver.url, status=status, due_at=minutes_ago(60)
    )
    assert deliveries_stuck() == []


def test_a_delivery_queued_again_waits_as_long_again_before_the_next_watch_resends_it(
    own_region, own_customer, record_sweep, receiver
):
    delivery = pending_delivery(
        own_region, own_customer, record_sweep, receiver.url, due_at=minutes_ago(30)
    )
    assert deliveries_stuck() == [delivery.pk]
    # The workers are all down: a watch a minute later does not pile up a second message.
    assert deliveries_stuck() == []
    Delivery.objects.filter(pk=delivery.pk).update(due_at=minutes_ago(6))
    assert deliveries_stuck() == [delivery.pk]


def test_a_delivery_a_live_worker_is_sending_is_neither_queued_again_nor_sent_by_another(
    own_region, own_customer, record_sweep, receiver
):
    delivery = pending_delivery(
        own_region,
        own_customer,
        record_sweep,
        receiver.url,
        attempts=1,
        due_at=minutes_ago(10),
        claimed_until=timezone.now() + timedelta(seconds=30),
    )
    assert deliveries_stuck() == []
    assert delivery_attempt(delivery_id=delivery.pk).status == ""
    assert receiver.requests == []
    # Its worker died: once the claim runs out, the watch queues it and another worker sends.
    Delivery.objects.filter(pk=delivery.pk).update(claimed_until=minutes_ago(1))
    assert deliveries_stuck() == [delivery.pk]
    assert delivery_attempt(delivery_id=delivery.pk).status == DeliveryStatus.SENT
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and delivery.claimed_until is None
    assert len(receiver.requests) == 1


def test_a_worker_that_died_on_the_last_attempt_leaves_a_delivery_that_is_then_failed(
    own_region, own_customer, record_sweep, receiver, settings
):
    settings.ALERT_DELIVERY_MAX_ATTEMPTS = 3
    delivery = pending_delivery(
        own_region,
        own_customer,
        record_sweep,
        receiver.url,
        attempts=3,
        last_error="The webhook answered HTTP 500.",
        due_at=minutes_ago(10),
        claimed_until=minutes_ago(8),
    )
    assert deliveries_stuck() == [delivery.pk]
    assert delivery_attempt(delivery_id=delivery.pk).status == DeliveryStatus.FAILED
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and receiver.requests == []
    assert delivery.last_error == "The webhook answered HTTP 500."


def test_a_failed_attempt_releases_its_claim_and_is_due_after_the_backoff(
    own_region, own_customer, record_sweep, receiver, settings
):
    settings.ALERT_DELIVERY_BACKOFF_SECONDS = 30
    receiver.status = 500
    delivery = pending_delivery(own_region, own_customer, record_sweep, receiver.url)
    attempt = delivery_attempt(delivery_id=delivery.pk)
    assert attempt.status == DeliveryStatus.PENDING and attempt.retry_in == 30
    delivery.refresh_from_db()
    assert delivery.claimed_until is None and delivery.attempts == 1
    assert timedelta(seconds=25) < delivery.due_at - timezone.now() <= timedelta(seconds=30)


def test_a_lease_outlasts_the_sends_own_timeout(settings):
    from alerts.notifications import delivery_lease_seconds

    settings.ALERT_DELIVERY_LEASE_SECONDS = 60
    settings.ALERT_DELIVERY_TIMEOUT_SECONDS = 30
    assert delivery_lease_seconds() == 120


@pytest.mark.django_db(transaction=True)
def test_two_workers_given_the_same_delivery_at_once_send_it_once(
    own_region, own_customer, record_sweep, receiver
):
    # A slow receiver: the first worker is still sending when the second one starts.
    receiver.delay = 0.5
    delivery = pending_delivery(own_region, own_customer, record_sweep, receiver.url)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def worker() -> None:
        try:
            start.wait()
            outcomes.append(delivery_attempt(delivery_id=delivery.pk).status)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert sorted(outcomes) == ["", DeliveryStatus.SENT]
    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 1


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_a_lost_delivery_once_the_watch_queues_it_twice_over(
    celery_worker_process, own_region, own_customer, record_sweep, receiver
):
    delivery = pending_delivery(
        own_region, own_customer, record_sweep, receiver.url, due_at=minutes_ago(10)
    )
    # The watch's copy, and the original message turning up late: two messages, one send.
    alert_deliveries_watch()
    alert_deliver.delay(delivery.pk)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        delivery.refresh_from_db()
        if delivery.status == DeliveryStatus.SENT:
            break
        time.sleep(0.2)
    assert delivery.status == DeliveryStatus.SENT, delivery.last_error
    time.sleep(1)  # the second message has had its chance to send it again
    assert len(receiver.requests) == 1
    assert receiver.requests[0][0]["X-Portal-Delivery"] == str(delivery.pk)


def test_a_worker_whose_claim_ran_out_records_nothing_once_another_worker_claimed_it(
    own_region, own_customer, record_sweep, receiver
):
    from alerts.notifications import _claim, _settle

    delivery = pending_delivery(own_region, own_customer, record_sweep, receiver.url)
    first = _claim(delivery.pk)
    assert first is not None and _claim(delivery.pk) is None
    Delivery.objects.filter(pk=delivery.pk).update(claimed_until=minutes_ago(1))
    second = _claim(delivery.pk)
    assert second is not None and second.attempts == 2
    assert _settle(first, status=DeliveryStatus.FAILED, last_error="late") is False
    assert _settle(second, status=DeliveryStatus.SENT) is True
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.last_error == ""
