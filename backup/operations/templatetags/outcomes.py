"""{{ operation|outcome_for:user }}: an operation's outcome told to the
person reading the page, in their language."""

from django import template

register = template.Library()


@register.filter
def outcome_for(operation, reader) -> str:
    return operation.outcome_for(reader.get_username() if reader else None)
