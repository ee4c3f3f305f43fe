"""Django admin: portal roles come from Entra app roles, not from Django groups."""

from django.contrib import admin
from django.contrib.auth.models import Group

admin.site.unregister(Group)
