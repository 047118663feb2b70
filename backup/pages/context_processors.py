from django.conf import settings


def site(request):
    return {
        "support_contact": settings.SUPPORT_CONTACT,
        "server_hostname": settings.SERVER_HOSTNAME,
    }
