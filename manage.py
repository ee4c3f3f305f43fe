#!/usr/bin/env python
import os
import sys


def main() -> None:
    # Unset means production, which refuses to start without its secrets: development and
    # tests name their settings module (scripts/run.sh, scripts/test.sh, pyproject.toml).
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.production")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
