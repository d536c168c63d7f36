"""WeCom's per-person send limits and the app's call budget, shared by every sender in Redis.

Per-person limits (30 in any 60 s, 1,000 in any 3,600 s) are kept with a send log per person in
Redis, and the per-app call limit of the send API with a call log, both shared by all senders.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core.models import OutboxMessage
from bot.core.redis_store import RedisStore

PER_MINUTE = 30
PER_HOUR = 1000
CALLS_PER_MINUTE = 9000  # WeCom allows 10,000 calls of one API a minute per company
MINUTE_MS = 60_000
HOUR_MS = 3_600_000
RATE_KEY_TTL = 3_660  # seconds: a person's send log outlives its newest entry by an hour
RESERVE_CHUNK = 1000  # messages per script call (each call is one atomic step in Redis)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)

# KEYS: one send log per person (a sorted set: member per message, score = send time in ms).
# ARGV: now, now - 1 minute, now - 1 hour, 1 minute, 1 hour (ms), per_minute, per_hour, ttl (s),
# a token unique to this call, then for each message in order the index in KEYS of its person.
# Returns for each message 0 (taken: logged at ``now``) or the time in ms when the person's
# windows have room again (the oldest entry of the full window leaves it).
_RESERVE = """
local now, minute_ago, hour_ago = ARGV[1], ARGV[2], ARGV[3]
local minute, hour = tonumber(ARGV[4]), tonumber(ARGV[5])
local per_minute, per_hour = tonumber(ARGV[6]), tonumber(ARGV[7])
local ttl, token = tonumber(ARGV[8]), ARGV[9]
local in_minute, in_hour, retry, added, answers = {}, {}, {}, {}, {}
local function expiry(key, rank, window)
  local entry = redis.call('ZRANGE', key, rank, rank, 'WITHSCORES')
  return tonumber(entry[2]) + window
end
for i = 10, #ARGV do
  local k = tonumber(ARGV[i])
  local key = KEYS[k]
  if in_hour[k] == nil then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', hour_ago)
    in_hour[k] = redis.call('ZCARD', key)
    in_minute[k] = redis.call('ZCOUNT', key, '(' .. minute_ago, '+inf')
  end
  if in_minute[k] < per_minute and in_hour[k] < per_hour then
    redis.call('ZADD', key, now, now .. ':' .. token .. ':' .. i)
    in_minute[k] = in_minute[k] + 1
    in_hour[k] = in_hour[k] + 1
    added[k] = true
    answers[#answers + 1] = 0
  else
    if retry[k] == nil then
      local at = 0
      if in_hour[k] >= per_hour then
        at = expiry(key, in_hour[k] - per_hour, hour)
      end
      if in_minute[k] >= per_minute then
        local minute_at = expiry(key, in_hour[k] - per_minute, minute)
        if minute_at > at then at = minute_at end
      end
      retry[k] = at
    end
    answers[#answers + 1] = retry[k]
  end
end
for k in pairs(added) do
  redis.call('EXPIRE', KEYS[k], ttl)
end
return answers
"""

# KEYS: a person's send log, once per message given back; ARGV[1]: when it was taken (ms).
_GIVE_BACK = """
local removed = 0
for i = 1, #KEYS do
  local taken = redis.call('ZRANGEBYSCORE', KEYS[i], ARGV[1], ARGV[1], 'LIMIT', 0, 1)
  if taken[1] then
    redis.call('ZREM', KEYS[i], taken[1])
    removed = removed + 1
  end
end
return removed
"""


# KEYS: the app's call log (a sorted set: member per call, score = call time in ms).
# ARGV: now, now - 1 minute, 1 minute (ms), calls allowed in any minute, a token unique to this
# call. Returns 0 (taken: logged at ``now``) or the time in ms when the window has room again.
_CALL = """
local key, now, minute_ago = KEYS[1], ARGV[1], ARGV[2]
local minute, per_minute = tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', key, '-inf', minute_ago)
local count = redis.call('ZCARD', key)
if count < per_minute then
  redis.call('ZADD', key, now, now .. ':' .. ARGV[5])
  redis.call('PEXPIRE', key, minute)
  return 0
end
local entry = redis.call('ZRANGE', key, count - per_minute, count - per_minute, 'WITHSCORES')
return tonumber(entry[2]) + minute
"""


def _millis(moment: datetime) -> int:
    if moment.tzinfo is None:  # naive: local time, as datetime.timestamp() reads it
        moment = moment.astimezone()
    return (moment - _EPOCH) // _MS


def _at_millis(millis: int) -> datetime:
    """The moment ``millis`` (ms since the epoch), rounded up to a whole second."""
    return datetime.fromtimestamp(-(-millis // 1000), UTC)


class RateLimiter:
    """WeCom's per-person limits for one app, shared by every sender through Redis.

    Each person has a send log in Redis (a sorted set of send times, ``rate:log:<userid>``):
    a message may go only if the person got fewer than ``per_minute`` messages in the 60 s
    before it and fewer than ``per_hour`` in the 3,600 s before it, so the limits hold over any
    minute and any hour, not only clock-minutes. Checking and logging is one Lua script, atomic
    however many senders reserve at once. A log loses entries older than an hour whenever it is
    touched and expires an hour after its newest entry, so it holds at most ``per_hour`` entries.
    Time is always passed in (``now``); the limiter never reads the clock.
    """

    def __init__(self, store: RedisStore, per_minute: int = PER_MINUTE, per_hour: int = PER_HOUR):
        self.store = store
        self.per_minute = per_minute
        self.per_hour = per_hour

    def _log_key(self, userid: str) -> str:
        return self.store.key("rate", "log", userid)

    def try_take(self, userid: str, now: datetime) -> datetime | None:
        """Count one message to ``userid``; None if allowed, else when to try again."""
        return self.try_take_many([userid], now)[0]

    def try_take_many(self, userids: Sequence[str], now: datetime) -> list[datetime | None]:
        """:meth:`try_take` for many messages, one script call per 1,000 (in order: a person's
        31st message within a minute is the one refused). A refused message's time is when the
        oldest message in the full window leaves it (rounded up to the second)."""
        millis = _millis(now)
        token = secrets.token_hex(6)
        answers: list[datetime | None] = []
        for start in range(0, len(userids), RESERVE_CHUNK):
            chunk = userids[start : start + RESERVE_CHUNK]
            index: dict[str, int] = {}
            for userid in chunk:
                index.setdefault(userid, len(index) + 1)
            replies = self._eval(
                _RESERVE,
                [self._log_key(userid) for userid in index],
                [
                    millis,
                    millis - MINUTE_MS,
                    millis - HOUR_MS,
                    MINUTE_MS,
                    HOUR_MS,
                    self.per_minute,
                    self.per_hour,
                    RATE_KEY_TTL,
                    f"{token}:{start}",
                    *(index[userid] for userid in chunk),
                ],
            )
            answers += [None if reply == 0 else _at_millis(int(reply)) for reply in replies]
        return answers

    def give_back(self, rows: Sequence[OutboxMessage], now: datetime) -> None:
        """Undo :meth:`try_take` for rows that were not sent after all (``now`` is the time
        they were taken at)."""
        millis = _millis(now)
        for start in range(0, len(rows), RESERVE_CHUNK):
            chunk = rows[start : start + RESERVE_CHUNK]
            self._eval(_GIVE_BACK, [self._log_key(row.userid) for row in chunk], [millis])

    def _eval(self, script: str, keys: list[str], args: list[object]) -> Any:
        # EVAL rather than register_script's EVALSHA: Redis caches the compiled script either
        # way, and there is no NOSCRIPT round trip, which fakeredis's TCP server (the tests'
        # shared Redis) answers by dropping the connection.
        with self.store.reachable("rate limiter") as client:
            return client.eval(script, len(keys), *keys, *args)  # type: ignore[arg-type]

    def try_call(self, now: datetime, per_minute: int = CALLS_PER_MINUTE) -> datetime | None:
        """Count one API call of this app; None if allowed, else when the budget has room.

        The budget holds over any 60 s, not only clock-minutes: the calls are logged in one
        sorted set (``rate:calls``, at most ``per_minute`` entries), as the per-person limits
        are."""
        millis = _millis(now)
        reply = self._eval(
            _CALL,
            [self.store.key("rate", "calls")],
            [millis, millis - MINUTE_MS, MINUTE_MS, per_minute, secrets.token_hex(6)],
        )
        return None if reply == 0 else _at_millis(int(reply))
