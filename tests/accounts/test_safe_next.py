import pytest
from django.test import RequestFactory

from accounts.services import safe_next


@pytest.mark.parametrize(
    "candidate",
    [
        "//evil.example",
        "//evil.example/customers/",
        "/\\evil.example",
        "https://evil.example/",
        "http://testserver.evil.example/",
        "javascript:alert(1)",
        "\\\\evil.example",
        "",
        None,
    ],
)
def test_a_next_url_off_this_site_falls_back_to_the_home_page(candidate):
    request = RequestFactory().get("/signin/")
    assert safe_next(request, candidate) == "/"


def test_a_path_on_this_site_is_kept():
    request = RequestFactory().get("/signin/")
    assert safe_next(request, "/customers/?q=contoso") == "/customers/?q=contoso"
