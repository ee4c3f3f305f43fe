from django import forms
from django.contrib import admin

from regions.models import Region, RegionDomain


class RegionForm(forms.ModelForm):
    client_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Write-only: leave empty to keep the current secret. It is stored encrypted.",
    )

    class Meta:
        model = Region
        fields = (
            "name",
            "slug",
            "active",
            "partner_tenant_id",
            "cloud",
            "login_host",
            "graph_base_url",
            "graph_resource",
            "partner_center_base_url",
            "client_id",
            "client_secret_expires_at",
            "ca_bundle",
        )

    def save(self, commit: bool = True) -> Region:
        region = super().save(commit=False)
        if self.cleaned_data.get("client_secret"):
            region.set_client_secret(self.cleaned_data["client_secret"])
        if commit:
            region.save()
        return region


class RegionDomainInline(admin.TabularInline):
    model = RegionDomain
    extra = 1


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    form = RegionForm
    inlines = [RegionDomainInline]
    list_display = (
        "name",
        "slug",
        "partner_tenant_id",
        "cloud",
        "active",
        "client_secret_expires_at",
    )
    list_filter = ("active", "cloud")
    search_fields = ("name", "slug", "domains__domain")
