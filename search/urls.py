from django.urls import path

from search import views

urlpatterns = [
    path("search/", views.search_view, name="search"),
    path("search/live/", views.search_live_view, name="search_live"),
]
