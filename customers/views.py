from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.models import Role
from accounts.permissions import role_required
from customers.selectors import customer_list

PAGE_SIZE = 25


@role_required(Role.AGENT)
def customer_list_view(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "")[:100]
    page = Paginator(customer_list(user=request.user, q=q), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "customers/list.html", {"page": page, "q": q})
