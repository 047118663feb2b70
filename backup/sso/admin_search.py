"""Django admin searches over account names: a term from outside ASCII
finds nothing rather than being folded onto an account's letters (the
database's UPPER()/LIKE may fold LONG S onto S, as Python's casefold does)."""

from django.contrib import admin

from . import names


class AccountNameSearch(admin.ModelAdmin):
    """The ModelAdmin of a model whose search_fields are account names."""

    def get_search_results(self, request, queryset, search_term):
        if not names.is_ascii(search_term):
            return queryset.none(), False
        return super().get_search_results(request, queryset, search_term)
