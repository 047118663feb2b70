from django.contrib.auth.backends import RemoteUserBackend


class SSOBackend(RemoteUserBackend):
    pass
