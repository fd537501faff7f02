import pytest
from rest_framework.test import APIClient


@pytest.fixture
def client_for():
    def make(user):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {user.auth_token.key}")
        return client

    return make
