"""Audit requests refused for reaching into another region (see audit/denials.py)."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from audit.denials import RegionDenied, denial_record


class DenialAuditMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        if isinstance(exception, RegionDenied):
            denial_record(request, exception)
        # None: Django goes on and answers the 404 as for any unknown object.
