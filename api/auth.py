from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token


class ProfileTokenAuthentication(TokenAuthentication):
    """Token auth that loads the user with the rows every request needs (organisation, member
    profile) in the same query as the token."""

    keyword = "Token"

    def authenticate_credentials(self, key):  # type: ignore[no-untyped-def]
        from django.utils.translation import gettext_lazy as _
        from rest_framework import exceptions

        token = Token.objects.select_related("user", "user__organisation", "user__member").filter(key=key).first()
        if token is None:
            raise exceptions.AuthenticationFailed(_("令牌无效。"))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("账号已停用。"))
        return (token.user, token)
