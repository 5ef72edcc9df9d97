"""The real services: Redis as the channel layer, and the database CI says this pass runs on."""

import asyncio
import os
import uuid
from typing import Any

import pytest
from channels_redis.core import RedisChannelLayer
from django.db import connection

from cs_platform.settings.base import redis_channel_layer
from tests.services import REDIS_URL, require


@pytest.mark.services
@pytest.mark.asyncio
async def test_redis_channel_layer_round_trip() -> None:
    require("Redis", REDIS_URL, 6379)
    layer = RedisChannelLayer(hosts=[REDIS_URL])
    group = f"conversation-{uuid.uuid4().hex}"
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    await layer.group_send(group, {"type": "message.new", "text": "hello"})
    received = await layer.receive(channel)
    assert received == {"type": "message.new", "text": "hello"}
    await layer.group_discard(group, channel)
    await layer.flush()


@pytest.mark.django_db
def test_database_is_the_one_this_run_expects() -> None:
    """CI's services pass sets CS_EXPECT_DB=postgresql; a silent fallback to SQLite fails here."""
    expected = os.environ.get("CS_EXPECT_DB")
    if expected is None:
        pytest.skip("CS_EXPECT_DB not set: this run does not pin a database")
    assert connection.vendor == expected


def test_channel_layer_is_the_one_this_run_expects(settings: Any) -> None:
    """CI's services pass runs every WebSocket test on Redis; this proves it really does."""
    expected = os.environ.get("CS_EXPECT_CHANNEL_LAYER")
    if expected is None:
        pytest.skip("CS_EXPECT_CHANNEL_LAYER not set: this run does not pin a channel layer")
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == expected


@pytest.mark.services
@pytest.mark.asyncio
async def test_redis_layer_survives_an_idle_receive_longer_than_redis_py_timeouts() -> None:
    """redis-py 8 defaults to a 5 s socket timeout; the layer's blocking receive must outlive it
    (an idle customer socket would otherwise be torn down every 5 s)."""
    require("Redis", REDIS_URL, 6379)
    # The production configuration (what REDIS_URL turns on), pointed at the test Redis.
    layer = RedisChannelLayer(**redis_channel_layer(REDIS_URL)["CONFIG"])
    channel = await layer.new_channel()

    async def send_later() -> None:
        await asyncio.sleep(6.5)
        await layer.send(channel, {"type": "late"})

    sender = asyncio.create_task(send_later())
    assert await layer.receive(channel) == {"type": "late"}
    await sender
    await layer.flush()
