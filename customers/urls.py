from django.urls import path

from customers import views

urlpatterns = [
    path("customers/", views.customer_list_view, name="customer_list"),
]
