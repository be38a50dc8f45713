from django.urls import path

from catalogue.api import views

MODEL = "models/<str:provider>/<str:name>/"

urlpatterns = [
    path("providers/", views.ProviderViewSet.as_view({"get": "list", "post": "create"}), name="provider-list"),
    path(
        "providers/<str:slug>/",
        views.ProviderViewSet.as_view({"get": "retrieve", "patch": "partial_update"}),
        name="provider-detail",
    ),
    path("models/", views.ModelViewSet.as_view({"get": "list", "post": "create"}), name="model-list"),
    path(
        MODEL,
        views.ModelViewSet.as_view({"get": "retrieve", "patch": "partial_update", "put": "update"}),
        name="model-detail",
    ),
    path("retirements/", views.RetirementViewSet.as_view({"get": "list", "post": "create"}), name="retirement-list"),
    path(
        "retirements/<int:pk>/",
        views.RetirementViewSet.as_view({"get": "retrieve", "patch": "partial_update"}),
        name="retirement-detail",
    ),
]
