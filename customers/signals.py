"""What the customers app tells the apps above it (they may not be imported from here)."""

from __future__ import annotations

from django.dispatch import Signal

# The app was consented in a customer tenant (sender: the Customer class, customer=<Customer>).
# Provisioning listens: a run waiting for consent goes on at once.
app_consented = Signal()

# The customer accepted the partner's invitation (a GDAP relationship awaiting approval is now
# approved), found by the customer sync (sender: the Customer class, customer=<Customer>).
# Provisioning listens: the tenant gets the delayed first calls, as after a creation.
relationship_accepted = Signal()

# A customer sync of a region finished successfully and committed (sender: SyncRun,
# region_id=<int>). Alerts listens: its rules are evaluated on the synced rows.
sync_finished = Signal()
