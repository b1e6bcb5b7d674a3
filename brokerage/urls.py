from django.urls import path

from . import views

app_name = "brokerage"

urlpatterns = [
    path("pipeline/", views.pipeline, name="pipeline"),
    path("requests/new/", views.request_create, name="request_create"),
    path("requests/<int:pk>/", views.request_detail, name="request_detail"),
    path("requests/<int:pk>/edit/", views.request_edit, name="request_edit"),
    path(
        "requests/<int:pk>/move/<slug:action>/",
        views.request_transition,
        name="request_transition",
    ),
    path("requests/<int:pk>/shortlist/", views.shortlist_add, name="shortlist_add"),
    path(
        "requests/<int:pk>/shortlist/<int:candidate_pk>/remove/",
        views.shortlist_remove,
        name="shortlist_remove",
    ),
    path("requests/<int:pk>/offer/", views.offer_create, name="offer_create"),
    path("offers/", views.offer_inbox, name="offer_inbox"),
    path("offers/<int:pk>/", views.offer_detail, name="offer_detail"),
    path("commissions/", views.commission_list, name="commission_list"),
    path("commissions/<int:pk>/", views.commission_detail, name="commission_detail"),
    path("commissions/<int:pk>/funding/", views.commission_funding, name="commission_funding"),
    path(
        "commissions/<int:pk>/deadlines/",
        views.commission_deadlines,
        name="commission_deadlines",
    ),
    path("commissions/<int:pk>/edit/", views.commission_edit, name="commission_edit"),
    path("funding/", views.stream_list, name="stream_list"),
    path("funding/new/", views.stream_form, name="stream_create"),
    path("funding/<int:pk>/", views.stream_detail, name="stream_detail"),
    path("funding/<int:pk>/edit/", views.stream_form, name="stream_edit"),
]
