from django.urls import path

from . import views

app_name = "deployments"

urlpatterns = [
    path("deployments/", views.deployment_list, name="deployment_list"),
    path("visits/", views.visit_list, name="visit_list"),
    path("deployments/<int:pk>/", views.deployment_detail, name="deployment_detail"),
    path("deployments/<int:pk>/visits/new/", views.visit_create, name="visit_create"),
    path("deployments/<int:pk>/plan-visit/", views.visit_plan, name="visit_plan"),
    path("visits/<int:pk>/", views.visit_detail, name="visit_detail"),
    path("visits/<int:pk>/edit/", views.visit_edit, name="visit_edit"),
    path("visits/<int:pk>/respond/", views.visit_respond, name="visit_respond"),
    path("commissions/<int:pk>/visits/", views.commission_visits, name="commission_visits"),
    path("commissions/<int:pk>/plan/", views.plan_detail, name="plan_detail"),
    path(
        "commissions/<int:pk>/plan/objectives/new/", views.objective_form, name="objective_create"
    ),
    path(
        "commissions/<int:pk>/plan/objectives/<int:objective_pk>/edit/",
        views.objective_form,
        name="objective_edit",
    ),
    path("objectives/<int:pk>/", views.objective_detail, name="objective_detail"),
]
