from django.urls import path

from . import views

app_name = "trust"

urlpatterns = [
    path("", views.home, name="home"),
    path("hub/", views.hub_home, name="hub_home"),
    path("trust/", views.trust_home, name="trust_home"),
    path("leader/", views.leader_home, name="leader_home"),
    path("school/", views.school_home, name="school_home"),
    path("funder/", views.funder_home, name="funder_home"),
    path("organisations/", views.organisation_list, name="organisation_list"),
    path("organisations/import/", views.school_import, name="school_import"),
    path(
        "organisations/import/<int:pk>/", views.school_import_detail, name="school_import_detail"
    ),
    path("organisations/<int:pk>/", views.organisation_detail, name="organisation_detail"),
    path("system-leaders/", views.leader_list, name="leader_list"),
    path("system-leaders/<int:pk>/", views.leader_detail, name="leader_detail"),
]
