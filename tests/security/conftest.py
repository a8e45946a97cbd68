from tests.server.conftest import serve  # noqa: F401 - the real-server fixture
