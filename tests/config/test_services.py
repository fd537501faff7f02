"""The real parts: the Redis cache, and the import contracts that keep the layers pointing one
way. Real Celery processes are tested in tests/integration."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_hold():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    result = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 4 kept, 0 broken." in result.stdout


@pytest.mark.redis
def test_redis_cache_round_trip():
    assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache")
    cache.set("minqing-test-key", {"案件": 1}, 30)
    assert cache.get("minqing-test-key") == {"案件": 1}
    cache.delete("minqing-test-key")
