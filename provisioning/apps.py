from typing import Any

from django.apps import AppConfig


class ProvisioningConfig(AppConfig):
    name = "provisioning"
    verbose_name = "Customer provisioning"

    def ready(self) -> None:
        from customers.signals import app_consented, relationship_accepted
        from portal import crypto

        # The initial admin passwords held until revealed (manage.py rotate_encryption_keys).
        crypto.encrypted_field_register("provisioning.HeldCredentials", "sealed")

        app_consented.connect(_consented, dispatch_uid="provisioning.consented")
        relationship_accepted.connect(_accepted, dispatch_uid="provisioning.accepted")


def _consented(sender: Any, customer: Any, **kwargs: Any) -> None:
    from provisioning.services import provisioning_consented

    provisioning_consented(customer=customer)


def _accepted(sender: Any, customer: Any, **kwargs: Any) -> None:
    from provisioning.models import Provisioning
    from provisioning.services import provisioning_start

    provisioning_start(
        customer=customer, kind=Provisioning.Kind.INVITATION, requested_by="customer sync"
    )
