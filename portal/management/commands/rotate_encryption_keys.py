"""Re-encrypt everything held with PORTAL_ENCRYPTION_KEYS under the newest (first) key.

Step two of a rolling rotation (README, Deploy): 1. put the new key first in
PORTAL_ENCRYPTION_KEYS, keeping the old one after it, and deploy every web and worker process;
2. run this command; 3. remove the old key and deploy again. It goes on past objects that no
configured key decrypts (it names each one) and then exits non-zero, so step 3 waits.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from portal import crypto


class Command(BaseCommand):
    help = "Re-encrypt every stored secret and token cache with the newest encryption key."

    def handle(self, *args: Any, **options: Any) -> None:
        unreadable: list[str] = []
        for name, rotate_all in crypto.encrypted_stores():
            result = rotate_all()
            unreadable.extend(result.unreadable or [])
            dropped = f", {result.dropped} unreadable dropped" if result.dropped else ""
            self.stdout.write(
                f"{name}: {result.rotated} re-encrypted, "
                f"{len(result.unreadable or [])} unreadable{dropped}"
            )
        for what in unreadable:
            self.stderr.write(
                f"{what}: no key in PORTAL_ENCRYPTION_KEYS decrypts it (encrypted with a key "
                "that was removed, or not by this portal). Re-enter that secret, or delete it."
            )
        if unreadable:
            raise CommandError(
                f"{len(unreadable)} object(s) could not be decrypted with any configured key; "
                "everything else now uses the newest key. Keep the old key until they are "
                "fixed or deleted."
            )
        self.stdout.write("Every encrypted value now uses the newest key.")
