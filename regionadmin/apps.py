from django.apps import AppConfig


class RegionadminConfig(AppConfig):
    name = "regionadmin"
    verbose_name = "Region admin pages"
