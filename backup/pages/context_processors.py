from django.conf import settings


def site(request):
    return {
        "support_contact": settings.SUPPORT_CONTACT,
        "server_hostname": settings.SERVER_HOSTNAME,
        "dev_sso": settings.DEV_SSO_USERS if settings.DEV_SSO else None,
    }
