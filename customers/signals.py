"""What the customers app tells the apps above it (they may not be imported from here)."""

from __future__ import annotations

from django.dispatch import Signal

# The app was consented in a customer tenant (sender: the Customer class, customer=<Customer>).
# Provisioning listens: a run waiting for consent goes on at once.
app_consented = Signal()
