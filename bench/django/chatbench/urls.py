"""HTTP routes of the bench's Django target: the three the load generator calls."""
from django.urls import path

from chat import views

urlpatterns = [
    path("healthz", views.healthz),
    path("api/conversations/<str:room>/members/<str:user>", views.member),
    path("api/conversations/<str:room>/messages", views.messages),
]
