from django.http import HttpResponse
from django.shortcuts import render


def ping(request):
    return HttpResponse("pong", content_type="text/plain")


def signed_out(request):
    return render(request, "pages/signed_out.html", status=401)
