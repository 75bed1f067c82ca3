from django.contrib import admin

from .models import SavedView


@admin.register(SavedView)
class SavedViewAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "shop", "query", "created_at"]
    list_select_related = ["user", "shop"]
    search_fields = ["name", "user__email"]
