"""What the compliance app tells the apps above it (they may not be imported from here)."""

from __future__ import annotations

from django.dispatch import Signal

# A compliance sweep finished and its snapshots are committed (sender: ComplianceSweep,
# sweep_id=<int>, region_id=<int, or None for a sweep of every region>). Alerts listens.
sweep_finished = Signal()
