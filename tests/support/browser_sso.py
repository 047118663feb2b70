"""The web server's part in browser tests: the live server runs in the test
process, so a test names the signed-in user here and this middleware puts it
in REMOTE_USER, exactly where Apache would. Only the test settings load it."""

signed_in_user = None


class TestServerMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if signed_in_user is not None:
            request.META["REMOTE_USER"] = signed_in_user
        return self.get_response(request)
