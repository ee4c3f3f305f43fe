"""Sync every active region's customers now, in this process."""

from django.core.management.base import BaseCommand, CommandError

from customers.models import SyncRun
from customers.services import customers_sync, sync_run_start
from regions.models import Region


class Command(BaseCommand):
    help = "Read each active region's customers from Microsoft Graph into the database."

    def handle(self, *args: object, **options: object) -> None:
        failed = False
        for region in Region.objects.filter(active=True):
            run, _ = sync_run_start(region=region, requested_by="manage.py")
            run = customers_sync(run_id=run.pk) or run
            if run.status == SyncRun.Status.DONE:
                self.stdout.write(
                    f"region {region.slug}: {run.total} customers "
                    f"({run.created} new, {run.updated} updated)"
                )
            else:
                failed = True
                self.stderr.write(f"region {region.slug}: sync failed: {run.error}")
        if failed:
            raise CommandError("At least one region failed to sync.")
