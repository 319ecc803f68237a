from django.urls import path

from scoring import views

urlpatterns = [
    path("", views.account_index, name="account-list"),
    path("<int:pk>/", views.account_detail, name="account-detail"),
    path("import/", views.account_import, name="account-import"),
    path("import/<int:pk>/", views.account_import_job, name="account-import-job"),
    path("import/<int:pk>/columns/", views.account_import_columns, name="account-import-columns"),
    path("export.csv", views.account_export, name="account-export"),
]
