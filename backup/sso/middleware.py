"""Placeholder; replaced by the SSO implementation."""

from django.contrib.auth.middleware import RemoteUserMiddleware
from django.core.exceptions import MiddlewareNotUsed


class ServerRemoteUserMiddleware(RemoteUserMiddleware):
    pass


class DevelopmentSSOMiddleware:
    def __init__(self, get_response):
        raise MiddlewareNotUsed
