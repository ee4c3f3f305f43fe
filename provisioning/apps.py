from typing import Any

from django.apps import AppConfig


class ProvisioningConfig(AppConfig):
    name = "provisioning"
    verbose_name = "Customer provisioning"

    def ready(self) -> None:
        from customers.signals import app_consented

        app_consented.connect(_consented, dispatch_uid="provisioning.consented")


def _consented(sender: Any, customer: Any, **kwargs: Any) -> None:
    from provisioning.services import provisioning_consented

    provisioning_consented(customer=customer)
