"""The second pass of the suite, against the real services: PostgreSQL, Redis, a Celery broker.

    python -m tests.services_pass [pytest args]

Runs the tests that touch the database, the channel layer and Celery (tests/apps, tests/cs_platform)
with DATABASE_URL, REDIS_URL and CELERY_BROKER_URL pointing at the services on loopback (override
with TEST_DATABASE_URL, TEST_REDIS_URL, TEST_CELERY_BROKER_URL). When a service is not running the
pass is skipped with the reason, unless CS_REQUIRE_SERVICES=1 (CI), where that is a failure.
"""

import os
import subprocess
import sys

from tests.services import BROKER_URL, REDIS_URL, services_required, tcp_reachable

DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cs_platform")


def main() -> int:
    missing = [
        f"{name}: {why}"
        for name, url, port in [
            ("PostgreSQL", DATABASE_URL, 5432),
            ("Redis", REDIS_URL, 6379),
            ("Celery broker", BROKER_URL, 6379),
        ]
        if (why := tcp_reachable(url, port))
    ]
    if missing:
        print("services pass SKIPPED, not running: " + "; ".join(missing))
        if services_required():
            print("CS_REQUIRE_SERVICES=1: the services pass must run here.", file=sys.stderr)
            return 1
        return 0
    env = {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "CELERY_BROKER_URL": BROKER_URL,
        "CS_EXPECT_DB": "postgresql",
        "CS_EXPECT_CHANNEL_LAYER": "channels_redis.core.RedisChannelLayer",
        "CS_REQUIRE_SERVICES": "1",
    }
    print(f"services pass: PostgreSQL {DATABASE_URL}, Redis {REDIS_URL}, broker {BROKER_URL}")
    command = [sys.executable, "-m", "pytest", "tests/apps", "tests/cs_platform", *sys.argv[1:]]
    return subprocess.call(command, env=env)


if __name__ == "__main__":
    sys.exit(main())
