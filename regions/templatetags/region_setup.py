"""`{{ region|setup_summary }}`: counts over a region's last setup-check results."""

from django import template

from regions import setup
from regions.models import Region

register = template.Library()


@register.filter
def setup_summary(region: Region) -> dict[str, int | bool]:
    return setup.setup_summary(region)
